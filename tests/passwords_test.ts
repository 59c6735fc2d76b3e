/**
 * A password encrypts the private key at rest and never leaves the client:
 * the key file holds no plaintext key, a wrong or missing password is
 * `error: invalid credentials`, and the server is never sent any of it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chatSession, makeDataDir, ServerProcess, withoutTimes } from "../testing/chat.ts";
import { startFakeServer } from "../testing/fake_server.ts";

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
      "hint: sam's key is encrypted: /login sam PASSWORD",
      "Authentication Succeeded",
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("the password never leaves the client: not one byte of it on the wire", async () => {
  const dir = await makeDataDir();
  const password = "correct-horse-battery-staple";
  const real = await ServerProcess.start(dir);
  try {
    await chatSession(dir, real.port, [`/register sam ${password}`]);
  } finally {
    await real.stop();
  }
  // A server that records all it is sent, decrypted, and lets sam in.
  const fake = await startFakeServer(dir, (socket, frame) => {
    const reply = (value: unknown) => socket.write(JSON.stringify(value) + "\n");
    if (frame.type === "hello") reply({ type: "hello", version: 2 });
    if (frame.type === "login") {
      reply({ type: "ok", re: frame.id, status: "authenticated" });
      reply({ type: "history_end", re: frame.id });
    }
    if (frame.type === "users") reply({ type: "users", re: frame.id, names: ["sam"] });
  });
  try {
    const out = await chatSession(dir, fake.port, [`/login sam ${password}`, "/users"]);
    assert.deepEqual(withoutTimes(out.stdout), ["Authentication Succeeded", "sam"]);
    const wire = new TextDecoder("latin1").decode(fake.received());
    assert.match(wire, /"type":"login".*"name":"sam"/, "the recording holds the login");
    for (const form of [password, btoa(password).slice(0, 16), encodeURIComponent(password)]) {
      assert.ok(!wire.includes(form), `the password went over the wire as ${form}`);
    }
  } finally {
    fake.close();
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
