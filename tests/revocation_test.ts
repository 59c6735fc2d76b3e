/**
 * Revocation (SPEC sections 1, 3 and 8): `chat ca revoke CERT.pem` writes a
 * CA-signed X.509 CRL to serverkeys/crl.pem; a running server reads it on
 * SIGHUP, ends the sessions of revoked certificates and refuses their logins
 * (`error: invalid credentials`, logged with the reason) while everyone else
 * stays; a server started with it refuses them too; a list the CA did not
 * sign is refused, at start and on SIGHUP.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runWithTimeout } from "../testing/child.ts";
import {
  assertSessionEnded,
  chatSession,
  ClientProcess,
  makeDataDir,
  runChat,
  ServerProcess,
  WAIT_MS,
} from "../testing/chat.ts";

async function openssl(args: string[]): Promise<string> {
  const out = await runWithTimeout(
    new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }),
    undefined,
    undefined,
    `openssl ${args.join(" ")}`,
  );
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

Deno.test("ca revoke writes a CA-signed CRL; SIGHUP ends the revoked user's session and refuses it, others stay", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const bob = new ClientProcess(dir, server.port);
  const alice = new ClientProcess(dir, server.port);
  try {
    await chatSession(dir, server.port, ["/register alice"]);
    await bob.ask("/register bob", "Registration Succeeded");
    await alice.ask("/login alice", "Authentication Succeeded");

    const revoke = await runChat("ca", ["revoke", "clientkeys/bob/cert.pem"], dir);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(
      revoke.stdout,
      /^revoked bob's certificate, serial [0-9a-f]+; wrote serverkeys\/crl.pem\n/,
    );
    const serial = /serial ([0-9a-f]+)/.exec(revoke.stdout)![1];

    // A real CRL, signed by the CA, listing bob's serial (checked by OpenSSL, not by us).
    const crl = join(dir, "serverkeys/crl.pem");
    const text = await openssl(["crl", "-in", crl, "-noout", "-text"]);
    assert.match(text.replaceAll(":", "").toLowerCase(), new RegExp(`serial number ${serial}`));
    const verified = await runWithTimeout(
      new Deno.Command("openssl", {
        args: ["crl", "-in", crl, "-noout", "-CAfile", join(dir, "serverkeys/ca.crt")],
        stdout: "piped",
        stderr: "piped",
      }),
    );
    assert.match(verified.stdout + verified.stderr, /verify OK/);

    // Revoking again changes nothing and says so.
    const again = await runChat("ca", ["revoke", "clientkeys/bob/cert.pem"], dir);
    assert.match(again.stdout, /^already revoked: bob's certificate/);

    // Nothing happens before the server is told: bob's session still answers.
    assert.equal(await bob.ask("/users", /^[a-z ]+$/), "alice bob");
    assert.doesNotMatch(server.log.text(), /certificate revoked/);
    Deno.kill(server.pid, "SIGHUP");
    await server.log.waitFor(/reloaded on SIGHUP: .*1 revoked certificates, ended 1 sessions$/);
    // bob's client tries again, is refused, and stops.
    await assertSessionEnded(server, bob, dir, "bob", "certificate revoked");

    // alice was not dropped: her session still works.
    await alice.ask("/users", /^alice$/);
    const end = await alice.end();
    assert.equal(end.code, 0);
  } finally {
    bob.kill();
    alice.kill();
    await server.stop();
  }

  // A server started with the list refuses bob from the first login.
  const restarted = await ServerProcess.start(dir);
  try {
    const refused = await chatSession(dir, restarted.port, ["/login bob"]);
    assert.equal(refused.stdout, "error: invalid credentials\n");
    await restarted.log.waitFor(/refused login of "bob" from .*: certificate revoked$/);
    const alice = await chatSession(dir, restarted.port, ["/login alice"]);
    assert.match(alice.stdout, /^Authentication Succeeded\n/);
  } finally {
    await restarted.stop();
  }
});

Deno.test("a CRL another CA signed is refused at start and on SIGHUP; ca revoke refuses another CA's certificate", async () => {
  const dir = await makeDataDir();
  const other = await makeDataDir();
  // A certificate and a CRL of another CA.
  const mallory = await runChat("ca", ["revoke", "serverkeys/server.crt"], other);
  assert.equal(mallory.code, 0, mallory.stderr);
  const foreignCrl = await Deno.readTextFile(join(other, "serverkeys/crl.pem"));

  const refused = await runChat(
    "ca",
    ["revoke", "-"],
    dir,
    await Deno.readTextFile(
      join(other, "serverkeys/server.crt"),
    ),
  );
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    'chat: error: cannot revoke: "-" is not a certificate this CA issued\n',
  );

  await Deno.writeTextFile(join(dir, "serverkeys/crl.pem"), foreignCrl);
  // (A server that started anyway would run on: WAIT_MS is the failure.)
  const start = await runChat("server", ["0"], dir, undefined, undefined, WAIT_MS);
  assert.equal(start.code, 1);
  assert.match(
    start.stderr,
    /^chat: error: cannot use the revocation list: CRL is not (issued|signed) by this CA\n/,
  );

  await Deno.remove(join(dir, "serverkeys/crl.pem"));
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register carol"]);
    await Deno.writeTextFile(join(dir, "serverkeys/crl.pem"), foreignCrl);
    Deno.kill(server.pid, "SIGHUP");
    await server.log.waitFor(/cannot reload on SIGHUP, kept what was loaded: CRL is not/);
    const carol = await chatSession(dir, server.port, ["/login carol"]);
    assert.match(carol.stdout, /^Authentication Succeeded\n/);
  } finally {
    await server.stop();
  }
});
