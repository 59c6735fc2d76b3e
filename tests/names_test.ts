/**
 * Names a reader could take for another user's (issue 8, item 7): `aIice`
 * (a capital i) cannot register while `alice` exists.
 */

import assert from "node:assert/strict";
import { chatSession, makeDataDir, ServerProcess } from "../testing/chat.ts";

Deno.test("a look-alike of a taken name is refused: error: user already exists", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    assert.match((await chatSession(dir, server.port, ["/register alice"])).stdout, /Succeeded/);
    for (const lookalike of ["aIice", "a1ice", "ALICE"]) {
      const out = await chatSession(dir, server.port, [`/register ${lookalike}`]);
      assert.equal(out.stdout.split("\n")[0], "error: user already exists", lookalike);
    }
    assert.match((await chatSession(dir, server.port, ["/register b0b"])).stdout, /Succeeded/);
    const bob = await chatSession(dir, server.port, ["/register bob"]);
    assert.equal(bob.stdout.split("\n")[0], "error: user already exists");
    const alice = await chatSession(dir, server.port, ["/login alice", "/users"]);
    assert.deepEqual(alice.stdout.trim().split("\n"), ["Authentication Succeeded", "alice"]);
  } finally {
    await server.stop();
  }
});
