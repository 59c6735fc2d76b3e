/**
 * A peer's hostile key (issue 8: a low-order X25519 point with a correctly
 * signed binding) is refused where it enters, and where it gets in anyway
 * (a compromised server hands it out) it makes a `warning:` line, never an
 * exit: the stock client goes on with the next command.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { labelled, toBase64Url } from "../e2e/encoding.ts";
import { loadAuthority } from "../pki/authority.ts";
import { createRequest, signRequest } from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
import { dataPaths } from "../pki/paths.ts";
import { chatSession, makeDataDir, ServerProcess, withoutTimes } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";

/** X25519 SPKI of u = 0: every shared secret with it is all zeros. */
const LOW_ORDER_KEY = new Uint8Array([
  ...Buffer.from("302a300506032b656e032100", "hex"),
  ...new Uint8Array(32),
]);

/** A CA-signed identity for `name`, and its binding of the low-order key. */
async function hostileIdentity(dir: string, name: string) {
  const ca = await loadAuthority(dataPaths(dir));
  const identity = await generateKeyPair();
  const certificate = await signRequest(ca, await createRequest(name, identity));
  const privatePem = await exportPrivateKeyPem(identity.privateKey);
  const binding = nodeCrypto.sign(
    null,
    labelled("chat/e2e/v1/encryption-key", [name, toBase64Url(LOW_ORDER_KEY)]),
    nodeCrypto.createPrivateKey(privatePem),
  );
  return {
    certificate,
    credentials: { certificate: certificate.toString("pem"), key: privatePem },
    binding: new Uint8Array(binding),
  };
}

Deno.test("a low-order encryption key is refused at registration, and makes a warning if served", async () => {
  const dir = await makeDataDir();
  let server = await ServerProcess.start(dir);
  try {
    // Refused where it enters: the server's registration.
    const mallory = await hostileIdentity(dir, "mallory");
    const ca = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
    const raw = await RawClient.connect(server.port, ca, mallory.credentials);
    await raw.hello();
    const refused = await raw.request({
      type: "register",
      id: 1,
      name: "mallory",
      encryption_key: toBase64Url(LOW_ORDER_KEY),
      binding: toBase64Url(mallory.binding),
    });
    raw.close();
    assert.deepEqual(refused, [{ type: "error", re: 1, code: "invalid_format" }]);
    await server.log.waitFor(/refused registration of "mallory" .*small order/);

    // A compromised server hands it out anyway, with a message "from" mallory.
    await chatSession(dir, server.port, ["/register mallory"]);
    await chatSession(dir, server.port, ["/register alice"]);
    await server.stop();
    const db = new DatabaseSync(join(dir, "chat.db"));
    try {
      db.prepare(
        "UPDATE users SET certificate = ?, public_key = ?, encryption_key = ?, key_binding = ? WHERE name = 'mallory'",
      ).run(
        new Uint8Array(mallory.certificate.rawData),
        new Uint8Array(mallory.certificate.publicKey.rawData),
        LOW_ORDER_KEY,
        mallory.binding,
      );
      db.prepare(
        `INSERT INTO messages (time, sender_id, recipient_id, body)
         SELECT 1, m.id, a.id, '{"v":1}' FROM users m, users a WHERE m.name = 'mallory' AND a.name = 'alice'`,
      ).run();
    } finally {
      db.close();
    }
    server = await ServerProcess.start(dir);
    const alice = await chatSession(dir, server.port, [
      "/login alice",
      "@mallory hello",
      "/fingerprint mallory",
      "still here",
    ]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(alice.stderr, "");
    const lines = withoutTimes(alice.stdout);
    assert.equal(lines[0], "Authentication Succeeded");
    assert.match(
      lines[1],
      /^warning: private message #\d+ from mallory is not shown: .*small order/,
    );
    assert.match(lines[2], /^warning: message to mallory not sent: .*small order/);
    assert.match(lines[3], /^warning: the server's keys for mallory are not valid .*small order/);
    assert.equal(lines[4], "alice: still here");
  } finally {
    await server.stop();
  }
});
