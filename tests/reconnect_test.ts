/**
 * Clients survive a server restart (SPEC section 2): a `kill -9` of the
 * server under logged-in clients, then a restart on the same port. Each
 * client says so in SPEC's words, logs in again by itself, shows what it
 * missed once, and what was typed while the server was down arrives once.
 * The server side of "never twice": a resend it already stored is answered
 * with the stored message and delivered to nobody again.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ServerFrame } from "../protocol/frames.ts";
import { chatSession, ClientProcess, makeDataDir, ServerProcess } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";

const LOST = "error: connection to the server lost; reconnecting";

function count(lines: string[], pattern: RegExp): number {
  return lines.filter((line) => pattern.test(line)).length;
}

Deno.test("kill -9 and restart: clients reconnect, show what they missed once, send nothing twice", async () => {
  const dir = await makeDataDir();
  let server = await ServerProcess.start(dir);
  const port = server.port;
  const alice = new ClientProcess(dir, port);
  const bob = new ClientProcess(dir, port);
  try {
    await alice.ask("/register alice", "Registration Succeeded");
    await bob.ask("/register bob", "Registration Succeeded");
    await alice.ask("before the crash", /alice: before the crash$/);
    await bob.output.waitFor(/alice: before the crash$/);

    await server.kill();
    await alice.output.waitFor(LOST);
    await bob.output.waitFor(LOST);
    // Typed while the server is down: sent once it is back.
    await alice.send("while it was down");
    await bob.send("@alice are you there?");

    server = await ServerProcess.start(dir, [], port);
    await alice.output.waitFor(/alice: while it was down$/);
    await bob.output.waitFor(/alice: while it was down$/);
    await alice.output.waitFor(/bob: @alice are you there\?$/);
    await bob.output.waitFor(/bob: @alice are you there\?$/);
    await alice.ask("after", /alice: after$/);
    await bob.output.waitFor(/alice: after$/);

    const a = await alice.end();
    const b = await bob.end();
    for (const [name, out] of [["alice", a], ["bob", b]] as const) {
      assert.equal(out.code, 0, `${name} exits 0 at end of input`);
      assert.equal(out.stderr, "", `${name} writes nothing on stderr`);
      const lines = out.stdout.split("\n");
      assert.equal(count(lines, /^error: connection to the server lost; reconnecting$/), 1);
      assert.equal(count(lines, /^reconnected to the server$/), 1, out.stdout);
      assert.equal(count(lines, /alice: before the crash$/), 1, `${name}: ${out.stdout}`);
      assert.equal(count(lines, /alice: while it was down$/), 1, `${name}: ${out.stdout}`);
      assert.equal(count(lines, /bob: @alice are you there\?$/), 1, `${name}: ${out.stdout}`);
      assert.equal(count(lines, /^Authentication Succeeded$/), 0, "no second login reply");
      assert.doesNotMatch(out.stdout, /rustls|https?:|close_notify|warning:/);
    }
    // Stored once each, whatever was resent.
    const history = await chatSession(dir, port, ["/login bob"]);
    const lines = history.stdout.split("\n");
    assert.equal(count(lines, /alice: while it was down$/), 1, history.stdout);
    assert.equal(count(lines, /bob: @alice are you there\?$/), 1, history.stdout);
  } finally {
    alice.kill();
    bob.kill();
    await server.stop();
  }
});

async function rawLogin(dir: string, port: number, name: string): Promise<RawClient> {
  const folder = join(dir, "clientkeys", name);
  const keys = await Deno.readTextFile(join(folder, "key.pem"));
  const client = await RawClient.connect(
    port,
    await Deno.readTextFile(join(dir, "clientkeys/ca.crt")),
    {
      certificate: await Deno.readTextFile(join(folder, "cert.pem")),
      key: keys.slice(0, keys.indexOf("-----END PRIVATE KEY-----") + 26),
    },
  );
  await client.hello();
  const frames = await client.request({ type: "login", id: 1, name });
  assert.equal(frames.at(-1)?.type, "history_end", JSON.stringify(frames));
  return client;
}

Deno.test("the server answers a resend it already stored with the stored message, and delivers it to nobody again", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    await chatSession(dir, server.port, ["/register erik"]);
    const sam = await rawLogin(dir, server.port, "sam");
    const erik = await rawLogin(dir, server.port, "erik");
    const cid = "resend-test-0000000001";
    const message = { type: "public" as const, text: "once", signature: "s", cid };
    // The reply is the last frame; presence notices may come before it.
    const echo = (await sam.request({ ...message, id: 2 })).at(-1)!;
    assert.equal(echo.type, "public");
    const stored = echo as Extract<ServerFrame, { type: "public" }>;
    assert.equal(stored.re, 2);

    // The connection that carried it is gone; sam logs in again and resends.
    sam.close();
    const again = await rawLogin(dir, server.port, "sam");
    const repeat = (await again.request({ ...message, id: 2, resend: true })).at(-1);
    assert.deepEqual(repeat, { ...stored, re: 2 }, "the stored message, same id and time");

    // A resend of something never stored is stored now.
    const fresh = (await again.request({
      ...message,
      id: 3,
      text: "new",
      cid: "resend-test-0000000002",
      resend: true,
    })).at(-1)!;
    assert.equal(fresh.type, "public");
    assert.equal((fresh as typeof stored).id, stored.id + 1);

    // erik saw "once" once, then "new": no message in between (sam's
    // presence notices, left and joined, may be).
    const nextMessage = async () => {
      for (;;) {
        const frame = await erik.next();
        if (frame?.type !== "presence") return frame;
      }
    };
    const first = await nextMessage();
    const second = await nextMessage();
    assert.equal((first as typeof stored).text, "once");
    assert.equal((second as typeof stored).text, "new");
    again.close();
    erik.close();
  } finally {
    await server.stop();
  }
});
