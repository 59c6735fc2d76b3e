/**
 * A log an operator can read (issue 9): the peer's address on every failed
 * handshake, the user's name on lines about a logged-in connection, one
 * line per address per interval during a flood, and --log-format json.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chatSession, makeDataDir, ServerProcess } from "../testing/chat.ts";

Deno.test("a failed handshake names the peer; a logged-in connection's lines name the user", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const local = conn.localAddr as Deno.NetAddr;
    await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    const line = await server.log.waitFor(/tls handshake failed from /);
    assert.match(line, new RegExp(`tls handshake failed from 127\\.0\\.0\\.1:${local.port}: `));
    conn.close();

    await chatSession(dir, server.port, ["/register sam"]);
    await server.log.waitFor(/disconnected 127\.0\.0\.1:\d+: .* \(user "sam"\)$/);
    await server.log.waitFor(/logout "sam" from 127\.0\.0\.1:\d+$/);
  } finally {
    await server.stop();
  }
});

Deno.test("a flood of refused connections makes one line per address per interval, with a count", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--max-per-address", "1"]);
  try {
    // One connection holds the address's only slot (anonymous, until its login time runs out).
    const held = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [await Deno.readTextFile(join(dir, "clientkeys/ca.crt"))],
    });
    await held.handshake();
    await server.log.waitFor(/connection from 127\.0\.0\.1/);
    const from = server.log.lines.length;
    for (let i = 0; i < 30; i++) {
      const extra = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      // The server closes it at once: wait for that, so each one is counted.
      await extra.read(new Uint8Array(1)).catch(() => null);
      extra.close();
    }
    const summary = await server.log.waitFor(
      /^\S+ (\d+) more refused from 127\.0\.0\.1 in the last 10 s \(last: refused connection/,
      from,
      40_000,
    );
    assert.equal(/ (\d+) more refused/.exec(summary)![1], "29");
    const refusals = server.log.lines.slice(from).filter((l) =>
      /^\S+ refused connection from/.test(l)
    );
    assert.equal(refusals.length, 1, refusals.join("\n"));
    held.close();
  } finally {
    await server.stop();
  }
});

Deno.test("--log-format json writes one JSON object a line", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--log-format", "json"]);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    await server.log.waitFor(/"event":"logout \\"sam\\" from /);
  } finally {
    await server.stop();
  }
  const lines = server.log.lines.slice(1).filter((line) => line !== "");
  assert.ok(lines.length >= 4, lines.join("\n"));
  for (const line of lines) {
    const entry = JSON.parse(line);
    assert.deepEqual(Object.keys(entry), ["time", "event"]);
    assert.ok(!Number.isNaN(Date.parse(entry.time)));
  }
});
