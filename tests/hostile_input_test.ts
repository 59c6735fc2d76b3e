/**
 * Mallory throws everything at a running server, over plain TCP and over
 * TLS, at once: thousands of idle sockets, random bytes, stalled handshakes,
 * a 1 MiB line, invalid UTF-8, deeply nested JSON. Meanwhile and afterwards a
 * normal user must be able to register and chat, and the server must not
 * have crashed or written to stderr.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { chatSession, makeDataDir, ServerProcess, withoutTimes } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";
import { WAIT_MS, withDeadline } from "../testing/deadline.ts";

const IDLE_SOCKETS = 2000;
/** Attackers come from several loopback addresses, as a botnet would from several hosts. */
const ATTACKER_ADDRESSES = [
  "127.0.0.2",
  "127.0.0.3",
  "127.0.0.4",
  "127.0.0.5",
  "127.0.0.6",
  "127.0.0.7",
  "127.0.0.8",
  "127.0.0.9",
];

function openSocket(port: number, localAddress: string, payload?: Uint8Array): Promise<net.Socket> {
  return withDeadline(openSocketNow(port, localAddress, payload), WAIT_MS, "a TCP connect");
}

function openSocketNow(port: number, localAddress: string, payload?: Uint8Array) {
  return new Promise<net.Socket>((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    socket.on("error", () => {});
    socket.on("connect", () => {
      if (payload) socket.write(payload);
      resolve(socket);
    });
    socket.on("close", () => resolve(socket));
  });
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65536)));
  }
  return bytes;
}

Deno.test("the server survives garbage over TCP and TLS, and a normal user still chats", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const sockets: net.Socket[] = [];
  let hostile = 0;
  try {
    // Thousands of idle TCP sockets that never start TLS.
    for (let i = 0; i < IDLE_SOCKETS; i++) {
      sockets.push(
        await openSocket(server.port, ATTACKER_ADDRESSES[i % ATTACKER_ADDRESSES.length]),
      );
    }
    hostile += IDLE_SOCKETS;
    // Random bytes instead of a handshake; a handshake that stops half way.
    const helloStart = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);
    for (let i = 0; i < 50; i++) {
      sockets.push(await openSocket(server.port, "127.0.0.10", randomBytes(1 + i * 100)));
      sockets.push(await openSocket(server.port, "127.0.0.11", helloStart));
    }
    hostile += 100;

    // Over TLS: each attack gets exactly these frames, then the server closes
    // (RawClient.untilClosed fails if it does not, within its deadline).
    const ca = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
    const encode = (text: string) => new TextEncoder().encode(text);
    const concat = (...parts: Uint8Array[]) => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const part of parts) out.set(part, (offset += part.length) - part.length);
      return out;
    };
    const hello = '{"type":"hello","versions":[2]}\n';
    const greeting = { type: "hello", version: 2 };
    const malformed = { type: "error", code: "malformed" };
    const attacks: Array<[string, string | Uint8Array, unknown[]]> = [
      ["a 1 MiB line", "x".repeat(1024 * 1024) + "\n", [malformed]],
      [
        // Decoded leniently, U+FFFD would make this an invalid_format name, and no close.
        "invalid UTF-8 in a name",
        concat(
          encode(hello + '{"type":"login","id":7,"name":"'),
          new Uint8Array([0xff, 0xfe]),
          encode('"}\n'),
        ),
        [greeting, { type: "error", re: 7, code: "malformed" }],
      ],
      ["deeply nested JSON", "[".repeat(30_000) + "]".repeat(30_000) + "\n", [malformed]],
      ["20,001 versions", '{"type":"hello","versions":[' + "1,".repeat(20_000) + "1]}\n", [
        malformed,
      ]],
      ["an id of 1e400", hello + '{"type":"login","id":1e400,"name":"sam"}\n', [
        greeting,
        malformed,
      ]],
      // Random bytes hold a newline within a few hundred bytes: the first line is garbage.
      ["200 kB of random bytes", randomBytes(200_000), [malformed]],
    ];
    for (const [what, attack, expected] of attacks) {
      const client = await RawClient.connect(server.port, ca);
      const port = client.localPort;
      try {
        await client.send(attack);
        assert.deepEqual(await client.untilClosed(), expected, what);
      } finally {
        client.close();
      }
      // The log says why: an oversized frame, or a malformed one.
      const reason = what === "a 1 MiB line" ? "frame too large" : "malformed frame";
      await server.log.waitFor(new RegExp(` 127\\.0\\.0\\.1:${port}: ${reason}$`));
      hostile++;
    }

    // With the idle sockets still open, a normal user registers and chats.
    const alive = await chatSession(dir, server.port, [
      "/register alice",
      "still standing",
      "/users",
    ]);
    assert.deepEqual(withoutTimes(alive.stdout), [
      "Registration Succeeded",
      "alice: still standing",
      "alice",
    ]);
    console.log(`survived ${hostile} hostile connections`);
  } finally {
    for (const socket of sockets) socket.destroy();
    const status = await server.stop();
    assert.equal(status.code, 0, "the server stopped cleanly: it had not crashed");
    assert.equal(server.errors.text(), "", "nothing on the server's stderr");
  }
});
