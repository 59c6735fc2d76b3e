/**
 * Host names later (issue 9): `chat ca init --host NAME` on existing keys
 * issues the server certificate again (same CA, same key) for every name
 * plus the new one; the server binds any address given with --host and says
 * plainly when it cannot; the client explains a name the certificate lacks.
 * 127.0.0.2 stands for "the machine's address": Linux routes 127/8 to lo.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { x509 } from "../pki/x509.ts";
import { chatSession, makeDataDir, runChat, ServerProcess } from "../testing/chat.ts";

function hostNames(pem: string): string[] {
  const certificate = new x509.X509Certificate(pem);
  return certificate.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON()
    .map((n) => n.value);
}

Deno.test("ca init --host on existing keys reissues server.crt for old and new names, same key and CA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  assert.equal((await runChat("ca", ["init", "--host", "chat.example.org"], dir)).code, 0);
  const read = (file: string) => Deno.readTextFile(join(dir, file));
  const key = await read("serverkeys/server.key");
  const old = new x509.X509Certificate(await read("serverkeys/server.crt"));

  const again = await runChat("ca", ["init", "--host", "127.0.0.2"], dir);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    /^reissued serverkeys\/server\.crt for localhost, 127\.0\.0\.1, ::1, chat\.example\.org, 127\.0\.0\.2 \(same CA, same server key\)$/m,
  );
  assert.equal(await read("serverkeys/server.key"), key, "the key is never touched");
  const renewed = new x509.X509Certificate(await read("serverkeys/server.crt"));
  assert.deepEqual(hostNames(renewed.toString("pem")), [
    "localhost",
    "127.0.0.1",
    "::1",
    "chat.example.org",
    "127.0.0.2",
  ]);
  assert.deepEqual(
    new Uint8Array(renewed.publicKey.rawData),
    new Uint8Array(old.publicKey.rawData),
  );
  const ca = new x509.X509Certificate(await read("ttpkeys/ca.crt"));
  assert.ok(await renewed.verify({ publicKey: ca.publicKey, signatureOnly: true }));
  assert.notEqual(renewed.serialNumber, old.serialNumber);

  // A name it has already: nothing changes.
  const same = await runChat("ca", ["init", "--host", "chat.example.org"], dir);
  assert.match(same.stdout, /nothing to do/);
  assert.equal(await read("serverkeys/server.crt"), renewed.toString("pem") + "\n");
});

Deno.test("server binds the address --host names; the client explains a name the certificate lacks", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--host", "127.0.0.2"]);
  try {
    assert.match(server.log.lines[0], /^listening on 127\.0\.0\.2:\d+$/);
    const refused = await runChat("client", ["127.0.0.2", String(server.port)], dir, "/users\n");
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `chat: error: cannot connect to 127.0.0.2:${server.port}: ` +
        "the server's certificate is not valid for the name 127.0.0.2\n" +
        "chat: hint: it is valid for localhost, 127.0.0.1, ::1; connect with one of those, " +
        'or add the name at the TTP with "chat ca init --host 127.0.0.2", then send the server SIGHUP\n',
    );
    // The same running server takes the reissued certificate on SIGHUP.
    assert.equal((await runChat("ca", ["init", "--host", "127.0.0.2"], dir)).code, 0);
    Deno.kill(server.pid, "SIGHUP");
    await server.log.waitFor(/^\S+ reloaded on SIGHUP: /);
    const session = await runChat(
      "client",
      ["127.0.0.2", String(server.port)],
      dir,
      "/register sam\n/users\n",
    );
    assert.equal(session.stdout, "Registration Succeeded\nsam\n", session.stderr);
    assert.equal(session.code, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("server says plainly why it cannot bind, without a stack trace", async () => {
  const dir = await makeDataDir();
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): no interface here has it.
  const result = await runChat("server", ["0", "--host", "192.0.2.1"], dir);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "chat: error: cannot listen on 192.0.2.1:0: no network interface of this machine has the " +
      "address 192.0.2.1\n" +
      'chat: hint: give one of its own addresses with --host, or "0.0.0.0" for all of them\n',
  );
  const busy = await ServerProcess.start(dir);
  try {
    const second = await runChat("server", [String(busy.port), "--host", "127.0.0.1"], dir);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /^chat: error: cannot listen on 127\.0\.0\.1:\d+: the port is in use\n/,
    );
    assert.doesNotMatch(second.stderr, /NotCapable|\s{4}at /);
  } finally {
    await busy.stop();
  }
  const wrongPort = await chatSession(dir, 1, ["/users"]);
  assert.equal(wrongPort.code, 1);
  assert.match(wrongPort.stderr, /connection refused\nchat: hint: is the server running\?/);
});
