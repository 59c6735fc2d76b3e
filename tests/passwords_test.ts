/**
 * A password encrypts the private key at rest and never leaves the client:
 * the key file holds no plaintext key, a wrong or missing password is
 * `error: invalid credentials`, and chat.db holds no password.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chatSession, makeDataDir, ServerProcess, withoutTimes } from "../testing/chat.ts";

Deno.test("a password-protected key is encrypted on disk and needed to log in", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const password = "correct-horse-battery-staple";
  try {
    const registered = await chatSession(dir, server.port, [`/register sam ${password}`]);
    assert.deepEqual(withoutTimes(registered.stdout), ["Registration Succeeded"]);
    const folder = join(dir, "clientkeys", "sam");
    const sealed = await Deno.readFile(join(folder, "key.age"));
    assert.equal((await Deno.stat(join(folder, "key.age"))).mode! & 0o777, 0o600);
    await assert.rejects(Deno.stat(join(folder, "key.pem")), Deno.errors.NotFound);
    const text = new TextDecoder().decode(sealed);
    assert.ok(text.startsWith("age-encryption.org/v1\n-> scrypt "), "age, scrypt recipient");
    assert.ok(!text.includes("PRIVATE KEY"));

    const attempts = await chatSession(dir, server.port, [
      "/login sam wrong-password",
      "/login sam",
      `/login sam ${password}`,
    ]);
    assert.deepEqual(withoutTimes(attempts.stdout), [
      "error: invalid credentials",
      "error: invalid credentials",
      "Authentication Succeeded",
    ]);
  } finally {
    await server.stop();
  }
  for (const suffix of ["", "-wal", "-shm"]) {
    const path = join(dir, `chat.db${suffix}`);
    const bytes = await Deno.readFile(path).catch(() => new Uint8Array());
    assert.ok(!new TextDecoder("latin1").decode(bytes).includes(password), path);
  }
});

Deno.test("a key without a password refuses a password at login", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register erik"]);
    const out = await chatSession(dir, server.port, ["/login erik guess", "/login erik"]);
    assert.deepEqual(withoutTimes(out.stdout), [
      "error: invalid credentials",
      "Authentication Succeeded",
    ]);
  } finally {
    await server.stop();
  }
});
