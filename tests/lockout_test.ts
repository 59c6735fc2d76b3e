/**
 * SPEC section 3, "Nobody can lock anyone out", from outside: an ordinary
 * user with a raw client (their own CA-signed certificate, none of the real
 * client's checks) sends the worst case of every field, and piles up far
 * more history than the slow-reader limit; the victims still log in, read
 * everything, and go on chatting.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_MESSAGE_CHARS, MAX_PAYLOAD_BYTES, MAX_SIGNATURE_CHARS } from "../protocol/limits.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { chatSession, ClientProcess, makeDataDir, ServerProcess } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";

async function credentials(dir: string, name: string) {
  return {
    certificate: await Deno.readTextFile(join(dir, "clientkeys", name, "cert.pem")),
    key: (await Deno.readTextFile(join(dir, "clientkeys", name, "key.pem")))
      .split(/(?<=-----END PRIVATE KEY-----\n)/)[0],
  };
}

async function loginRaw(dir: string, port: number, name: string): Promise<RawClient> {
  const ca = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
  const client = await RawClient.connect(port, ca, await credentials(dir, name));
  await client.hello();
  const frames = await client.request({ type: "login", id: 1, name });
  assert.equal(frames.at(-1)?.type, "history_end", JSON.stringify(frames.at(-1)));
  return client;
}

/** The worst text once JSON-encoded: each character escaped as \uXXXX (6 bytes). */
const WORST_TEXT = "\\u0001".repeat(MAX_MESSAGE_CHARS);
/** The worst signature accepted: printable ASCII, every character escaped. */
const WORST_SIGNATURE = '\\"'.repeat(MAX_SIGNATURE_CHARS);
/** The worst private payload accepted: half the budget, every character escaped. */
const WORST_PAYLOAD = '\\"'.repeat(MAX_PAYLOAD_BYTES / 2);
/** Issue 8's attack: a payload whose escapes took the outbound frame past 64 KiB. */
const CONTROL_PAYLOAD = "\\u0001".repeat(10_914);

Deno.test("the worst case of every field, and history far past the slow-reader limit, lock nobody out", async () => {
  const dir = await makeDataDir();
  // A small slow-reader limit: the history below is seven times larger.
  const server = await ServerProcess.start(dir, ["--max-queued", "256"]);
  try {
    for (const name of ["mallory", "bob"]) {
      const registered = await chatSession(dir, server.port, [`/register ${name}`]);
      assert.match(registered.stdout, /Registration Succeeded/);
    }
    const mallory = await loginRaw(dir, server.port, "mallory");
    let id = 10;
    const replies: ServerFrame[] = [];
    const send = async (json: string) => {
      await mallory.send(json.replace("ID", String(++id)) + "\n");
      for (;;) {
        const frame = await mallory.next();
        assert.ok(frame !== null, "the server closed mallory's connection");
        if ("re" in frame && frame.re === id) return void replies.push(frame);
      }
    };
    await send(`{"type":"private","id":ID,"to":"bob","payload":"${CONTROL_PAYLOAD}"}`);
    assert.deepEqual(replies.pop(), { type: "error", re: id, code: "invalid_format" });
    for (let i = 0; i < 40; i++) {
      await send(`{"type":"private","id":ID,"to":"bob","payload":"${WORST_PAYLOAD}"}`);
      assert.equal(replies.pop()?.type, "private");
      await send(
        `{"type":"public","id":ID,"text":"${WORST_TEXT}","signature":"${WORST_SIGNATURE}"}`,
      );
      assert.equal(replies.pop()?.type, "public");
    }
    // A lone surrogate costs 6 bytes encoded too.
    await send(
      `{"type":"public","id":ID,"text":"${"\\ud800".repeat(MAX_MESSAGE_CHARS)}","signature":"s"}`,
    );
    assert.equal(replies.pop()?.type, "public");
    mallory.close();

    // bob's history (~1.8 MB) streams to a raw reader: every frame decodes and fits.
    const raw = await loginRaw(dir, server.port, "bob");
    raw.close();

    // And to the stock client, which warns about what does not verify and goes on.
    const bob = new ClientProcess(dir, server.port);
    try {
      await bob.ask("/login bob", "Authentication Succeeded");
      await bob.ask("still here", /bob: still here$/);
      await bob.ask("/users", /^bob$/);
      const out = await bob.end();
      assert.equal(out.code, 0, out.stderr);
      assert.ok(!/error: /.test(out.stdout), out.stdout.slice(0, 500));
      const warnings = out.stdout.split("\n").filter((line) => line.startsWith("warning: "));
      assert.ok(warnings.length >= 81, `a warning per unverifiable message: ${warnings.length}`);
    } finally {
      bob.kill();
    }
  } finally {
    await server.stop();
  }
});
