/**
 * The client's side of trust: it refuses a server whose certificate another
 * CA issued, and a refused registration leaves no key files behind.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chatSession, makeDataDir, runChat, ServerProcess, withoutTimes } from "../testing/chat.ts";

async function entries(path: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  return names.sort();
}

Deno.test("the client refuses a server whose certificate is not from its CA", async () => {
  const serverDir = await makeDataDir();
  const clientDir = await makeDataDir(); // another CA
  const server = await ServerProcess.start(serverDir);
  try {
    const out = await runChat("client", ["127.0.0.1", String(server.port)], clientDir, "/users\n");
    assert.equal(out.code, 1);
    assert.equal(out.stdout, "");
    assert.match(out.stderr, /^chat: error: cannot connect to 127\.0\.0\.1:\d+: .*certificate/);
  } finally {
    await server.stop();
  }
});

Deno.test("a refused registration leaves no key files, and keeps the keys that were there", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    const before = await Deno.readTextFile(join(dir, "clientkeys", "sam", "key.pem"));
    const again = await chatSession(dir, server.port, ["/register sam", "/register SAM"]);
    assert.deepEqual(withoutTimes(again.stdout), [
      "error: user already exists",
      "error: user already exists",
    ]);
    assert.deepEqual(await entries(join(dir, "clientkeys")), ["ca.crt", "sam"]);
    assert.equal(await Deno.readTextFile(join(dir, "clientkeys", "sam", "key.pem")), before);
    const login = await chatSession(dir, server.port, ["/login sam"]);
    assert.deepEqual(withoutTimes(login.stdout), ["Authentication Succeeded"]);
  } finally {
    await server.stop();
  }
});
