/**
 * `chat ca init` and `chat ca sign` as a user runs them: files and modes,
 * never overwriting, refusing bad requests, and registration leaving
 * ttpkeys/ untouched.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createRequest } from "../pki/certificates.ts";
import { generateKeyPair } from "../pki/keys.ts";
import { x509 } from "../pki/x509.ts";
import { chatSession, makeDataDir, runChat, ServerProcess } from "../testing/chat.ts";

async function digest(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("ca init makes the seed's layout with private keys 0600, and never overwrites", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  const first = await runChat("ca", ["init", "--host", "chat.example.org"], dir);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /created ttpkeys\/ca\.key/);
  for (const file of ["ttpkeys/ca.key", "serverkeys/server.key"]) {
    assert.equal((await Deno.stat(join(dir, file))).mode! & 0o777, 0o600, file);
  }
  const files = [
    "ttpkeys/ca.key",
    "ttpkeys/ca.crt",
    "serverkeys/server.key",
    "serverkeys/server.crt",
    "serverkeys/ca.crt",
    "clientkeys/ca.crt",
  ];
  const before = await Promise.all(files.map((f) => digest(join(dir, f))));
  const server = new x509.X509Certificate(
    await Deno.readTextFile(join(dir, "serverkeys/server.crt")),
  );
  const names = server.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
  assert.ok(names.some((n) => n.value === "chat.example.org"));

  const second = await runChat("ca", ["init"], dir);
  assert.equal(second.code, 0);
  assert.match(second.stdout, /nothing to do/);
  assert.deepEqual(await Promise.all(files.map((f) => digest(join(dir, f)))), before);

  // A lost CA key cannot be silently replaced under existing copies.
  await Deno.remove(join(dir, "ttpkeys"), { recursive: true });
  const third = await runChat("ca", ["init"], dir);
  assert.equal(third.code, 1);
  assert.match(third.stderr, /^chat: error: .*exists but the CA key .* does not/m);
});

Deno.test("ca sign signs a good request and refuses a bad one, changing nothing in ttpkeys/", async () => {
  const dir = await makeDataDir();
  const before = await digest(join(dir, "ttpkeys/ca.key"));
  const good = await runChat(
    "ca",
    ["sign"],
    dir,
    await createRequest("sam", await generateKeyPair()),
  );
  assert.equal(good.code, 0, good.stderr);
  const certificate = new x509.X509Certificate(good.stdout);
  assert.equal(certificate.subject, "CN=sam");

  const bad = await runChat("ca", ["sign"], dir, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^chat: error: cannot sign the request: /);
  assert.equal(await digest(join(dir, "ttpkeys/ca.key")), before);
  const entries = [];
  for await (const entry of Deno.readDir(join(dir, "ttpkeys"))) entries.push(entry.name);
  assert.deepEqual(entries.sort(), ["ca.crt", "ca.key"]);
});

Deno.test("registering users changes nothing in ttpkeys/ and serverkeys/", async () => {
  const dir = await makeDataDir();
  const files = ["ttpkeys/ca.key", "ttpkeys/ca.crt", "serverkeys/server.key"];
  const before = await Promise.all(files.map((f) => digest(join(dir, f))));
  const server = await ServerProcess.start(dir);
  try {
    const out = await chatSession(dir, server.port, ["/register alice"]);
    assert.equal(out.stdout.split("\n")[0], "Registration Succeeded");
    await chatSession(dir, server.port, ["/register bob"]);
  } finally {
    await server.stop();
  }
  assert.deepEqual(await Promise.all(files.map((f) => digest(join(dir, f)))), before);
  const entries = [];
  for await (const entry of Deno.readDir(join(dir, "ttpkeys"))) entries.push(entry.name);
  assert.deepEqual(entries.sort(), ["ca.crt", "ca.key"]);
});

Deno.test("every command has --help, and usage errors exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  for (const task of ["ca", "server", "client"] as const) {
    const help = await runChat(task, ["--help"], dir);
    assert.equal(help.code, 0, task);
    assert.match(help.stdout, new RegExp(`^chat ${task}`), task);
  }
  const usage = await runChat("server", ["--bogus"], dir);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^chat: error: /);
  const missing = await runChat("server", ["0"], dir);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    'chat: error: cannot read "serverkeys/server.key": not found\nchat: hint: run "deno task -q ca init" first\n',
  );
});
