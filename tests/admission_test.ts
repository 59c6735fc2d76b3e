/**
 * SPEC section 3: the per-address limits must not let one address hold a
 * slot after its socket closed, and nobody's failed attempts lock out a user
 * whose certificate checks out (issue 8, item 5 of what was seen).
 */

import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { chatSession, ClientProcess, makeDataDir, ServerProcess } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";

const caOf = (dir: string) => Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));

/** A TCP connection that leaves before saying anything, TLS or not. */
function connectAndLeave(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.end());
    socket.on("error", () => {});
    socket.on("close", () => resolve());
  });
}

Deno.test("a socket closed before its TLS handshake gives its per-address slot back at once", async () => {
  const dir = await makeDataDir();
  // A handshake timeout far beyond the test's wait: only the close can free the slots.
  const server = await ServerProcess.start(dir, [
    "--max-per-address",
    "3",
    "--handshake-timeout",
    "600",
  ]);
  try {
    for (let round = 0; round < 3; round++) {
      await Promise.all([0, 1, 2].map(() => connectAndLeave(server.port)));
    }
    // Every slot is back once the server has seen the nine sockets go. The
    // log writes the first failure from an address, then a count a line
    // ("8 more refused from 127.0.0.1 in the last 10 s").
    const failures = () =>
      server.log.lines.reduce((sum, line) => {
        const summary = / (\d+) more refused from /.exec(line);
        if (summary !== null) return sum + Number(summary[1]);
        return sum + (/tls handshake failed/.test(line) ? 1 : 0);
      }, 0);
    while (failures() < 9) {
      await server.log.waitFor(/tls handshake failed/, server.log.lines.length);
    }
    const out = await chatSession(dir, server.port, ["/register patient", "/users"]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split("\n"), ["Registration Succeeded", "patient"]);
    assert.ok(!server.log.text().includes("too many connections from this address"));
  } finally {
    await server.stop();
  }
});

Deno.test("failed attempts for a name, from its owner's address, never lock out its certificate", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--login-attempts", "3"]);
  try {
    await chatSession(dir, server.port, ["/register alice"]);
    // Someone on the same address, without alice's certificate, tries her name over and over.
    const mallory = await RawClient.connect(server.port, await caOf(dir));
    await mallory.hello();
    const codes: string[] = [];
    for (let id = 1; id <= 8; id++) {
      const reply = await mallory.request({ type: "login", id, name: "alice" });
      codes.push((reply.at(-1) as { code: string }).code);
    }
    assert.deepEqual(codes.slice(0, 3), Array(3).fill("invalid_credentials"));
    assert.deepEqual(codes.slice(3), Array(5).fill("rate_limited"));
    // Registration attempts of a taken name are failures too.
    const again = await mallory.request({
      type: "register",
      id: 9,
      name: "alice",
      encryption_key: "A".repeat(59),
      binding: "A".repeat(86),
    });
    assert.deepEqual(again.at(-1), { type: "error", re: 9, code: "rate_limited" });
    mallory.close();

    // alice, with her certificate, from the same address, at once.
    const alice = new ClientProcess(dir, server.port);
    try {
      await alice.ask("/login alice", "Authentication Succeeded");
      await alice.ask("still me", /alice: still me$/);
      const out = await alice.end();
      assert.equal(out.code, 0, out.stderr);
    } finally {
      alice.kill();
    }
  } finally {
    await server.stop();
  }
});
