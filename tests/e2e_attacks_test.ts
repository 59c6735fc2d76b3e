/**
 * SPEC section 4 against a compromised server: what it stores or hands out
 * is altered directly in chat.db, and the real clients must notice. Also: no
 * private plaintext anywhere in chat.db or its WAL.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { bindEncryptionKey, generateEncryptionKeyPair, OwnKeys } from "../e2e/keys.ts";
import { loadAuthority } from "../pki/authority.ts";
import { createRequest, signRequest } from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
import { dataPaths } from "../pki/paths.ts";
import {
  chatSession,
  ClientProcess,
  makeDataDir,
  ServerProcess,
  withoutTimes,
} from "../testing/chat.ts";

/** Runs `change` on chat.db as an attacker with the server's file would. */
function tamper(dir: string, change: (db: DatabaseSync) => void): void {
  const db = new DatabaseSync(join(dir, "chat.db"));
  try {
    change(db);
  } finally {
    db.close();
  }
}

function messageId(db: DatabaseSync, where: string): number {
  const row = db.prepare(`SELECT id FROM messages WHERE ${where} ORDER BY id DESC LIMIT 1`)
    .get() as { id: number } | undefined;
  assert.ok(row, `no message where ${where}`);
  return row.id;
}

Deno.test("chat.db and its WAL never hold private plaintext or passwords", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const secret = "the-eagle-lands-at-midnight";
  const password = "hunter2-but-longer";
  try {
    await chatSession(dir, server.port, [`/register sam ${password}`]);
    const erik = await chatSession(dir, server.port, [
      "/register erik",
      `@sam ${secret}`,
      `@erik ${secret} to myself`,
      CANARY,
    ]);
    assert.equal(withoutTimes(erik.stdout).at(-1), `erik: ${CANARY}`);
    const read = await chatSession(dir, server.port, [`/login sam ${password}`]);
    assert.ok(read.stdout.includes(`erik: @sam ${secret}`), "the recipient can read it");
    // While the server runs, recent pages are in the WAL.
    assertAbsent(dir, [secret, password]);
  } finally {
    await server.stop();
  }
  // After a clean stop, everything is checkpointed into chat.db.
  assertAbsent(dir, [secret, password]);
});

/** A public message: stored as plain text, so the search below must find it. */
const CANARY = "public-canary-in-the-database";

/**
 * None of `needles` in chat.db or its side files, plainly or in base64; the
 * CANARY must be found by the same search, so a missing or unreadable
 * database cannot pass for a clean one.
 */
function assertAbsent(dir: string, needles: string[]): void {
  let searched = "";
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(join(dir, `chat.db${suffix}`));
    } catch (error) {
      // The side files come and go with SQLite's checkpoints; the database itself must be there.
      if (suffix !== "" && error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    const text = new TextDecoder("latin1").decode(bytes);
    searched += text;
    for (const needle of needles) {
      assert.ok(!text.includes(needle), `"${needle}" found in chat.db${suffix}`);
      // Nor as base64 of the plain bytes.
      assert.ok(
        !text.includes(btoa(needle).slice(0, 16)),
        `base64 of "${needle}" in chat.db${suffix}`,
      );
    }
  }
  assert.ok(searched.includes(CANARY), "the search finds what the server did store");
}

Deno.test("an altered private envelope or public text in chat.db is a warning, never the message", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    await chatSession(dir, server.port, [
      "/register erik",
      "@sam meet at noon",
      "pay sam 10 dollars",
    ]);
    // sam reads them once, so the client remembers them as verified...
    const before = await chatSession(dir, server.port, ["/login sam"]);
    assert.deepEqual(withoutTimes(before.stdout).slice(1), [
      "erik: @sam meet at noon",
      "erik: pay sam 10 dollars",
    ]);
    // ...and that record must not vouch for altered bytes.
    tamper(dir, (db) => {
      const privateId = messageId(db, "recipient_id IS NOT NULL");
      // The compact envelope v.mid.time.nonce.ct.sig (e2e/README.md): one ciphertext byte changed.
      const fields = (db.prepare("SELECT body FROM messages WHERE id = ?").get(privateId) as {
        body: string;
      }).body.split(".");
      assert.equal(fields.length, 6);
      fields[4] = (fields[4][0] === "A" ? "B" : "A") + fields[4].slice(1);
      db.prepare("UPDATE messages SET body = ? WHERE id = ?").run(fields.join("."), privateId);
      db.prepare("UPDATE messages SET body = 'pay mallory 1000 dollars' WHERE id = ?")
        .run(messageId(db, "recipient_id IS NULL"));
    });
    // sam's store of verified messages shows them as they were checked: the
    // server is not asked for them again (tests/history_window_test.ts)...
    const kept = await chatSession(dir, server.port, ["/login sam"]);
    assert.deepEqual(withoutTimes(kept.stdout), withoutTimes(before.stdout));
    // ...and without it (another machine, a damaged store), the altered bytes are what arrives.
    await Deno.remove(join(dir, "clientkeys", "sam", "history"));
    const sam = await chatSession(dir, server.port, ["/login sam"]);
    const lines = withoutTimes(sam.stdout);
    assert.equal(lines[0], "Authentication Succeeded");
    assert.match(lines[1], /^warning: private message #\d+ from erik failed verification/);
    assert.match(lines[2], /^warning: public message #\d+ from erik failed verification/);
    assert.equal(lines.length, 3);
    assert.ok(!sam.stdout.includes("noon") && !sam.stdout.includes("dollars"));
    assert.equal(sam.code, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("a message the server delivers twice is shown once, then flagged as a replay", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    await chatSession(dir, server.port, ["/register erik", "@sam only once", "public once"]);
    tamper(dir, (db) => {
      // The server stores both envelopes again, as new messages.
      db.exec(`INSERT INTO messages (time, sender_id, recipient_id, body, signature)
               SELECT time + 1000, sender_id, recipient_id, body, signature FROM messages ORDER BY id`);
    });
    const sam = await chatSession(dir, server.port, ["/login sam"]);
    const lines = withoutTimes(sam.stdout);
    assert.deepEqual(lines.slice(0, 3), [
      "Authentication Succeeded",
      "erik: @sam only once",
      "erik: public once",
    ]);
    assert.match(
      lines[3],
      /^warning: private message #\d+ from erik repeats message #\d+, .*replay/,
    );
    assert.match(
      lines[4],
      /^warning: public message #\d+ from erik repeats message #\d+, .*replay/,
    );
    assert.equal(lines.length, 5);
  } finally {
    await server.stop();
  }
});

Deno.test("keys the server swaps for a known peer are refused for sending and flagged on receipt", async () => {
  const dir = await makeDataDir();
  let server = await ServerProcess.start(dir);
  const sam = new ClientProcess(dir, server.port);
  try {
    await chatSession(dir, server.port, ["/register erik", "hello from the real erik"]);
    // sam sees erik's message at registration: erik's keys are pinned now.
    await sam.ask("/register sam", /erik: hello from the real erik$/);
    const pinned = await sam.ask("/fingerprint erik", /^erik's fingerprint: /);

    // The server (with a certificate the TTP was tricked into issuing) hands
    // out other keys for erik: all valid, CA-signed, correctly bound.
    const fake = await forgeKeys(dir, "erik");
    tamper(dir, (db) => {
      db.prepare(
        "UPDATE users SET certificate = ?, encryption_key = ?, key_binding = ? WHERE name = 'erik'",
      ).run(fake.certificate, fake.encryptionKey, fake.binding);
    });
    // A new session of sam's fetches the keys again, from a server that
    // reads them afresh (it caches user records it has read). Without sam's
    // store of verified messages, which would show erik's message as it was
    // checked, the history comes from the server again.
    await sam.end();
    await server.stop();
    await Deno.remove(join(dir, "clientkeys", "sam", "history"));
    server = await ServerProcess.start(dir);
    const client = new ClientProcess(dir, server.port);
    try {
      // erik's message in the history is now checked against the swapped keys.
      await client.ask(
        "/login sam",
        /^warning: public message #\d+ from erik is not shown: erik's key has changed/,
      );
      const refused = await client.ask("@erik are you there?", /^warning: /);
      assert.match(refused, /^warning: message to erik not sent: erik's key has changed/);
      assert.match(refused, /\/trust erik/);
      const changed = await client.ask("/fingerprint erik", /fingerprint/);
      assert.match(changed, /^warning: erik's fingerprint is now [0-9a-f ]+; you trusted /);
      assert.ok(changed.includes(pinned.replace("erik's fingerprint: ", "")));
      // So are erik's live messages.
      const before = client.output.lines.length;
      await chatSession(dir, server.port, ["/login erik", "still me"]);
      await client.output.waitFor(
        /^warning: public message #\d+ from erik is not shown: erik's key has changed/,
        before,
      );
      // Accepting the new key is the user's call, after checking it. Then the
      // real erik's messages fail verification against the new key.
      await client.ask("/trust erik", /^erik's key is trusted: /);
      await client.ask("@erik are you there?", /sam: @erik are you there\?$/);
      const afterTrust = client.output.lines.length;
      await chatSession(dir, server.port, ["/login erik", "me again"]);
      await client.output.waitFor(
        /^warning: public message #\d+ from erik failed verification \(bad signature\)/,
        afterTrust,
      );
      const out = await client.end();
      assert.ok(!out.stdout.includes("still me") && !out.stdout.includes("me again"));
    } finally {
      client.kill();
    }
  } finally {
    sam.kill();
    await server.stop();
  }
});

Deno.test("two users see the same fingerprints for each other", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    const erik = await chatSession(dir, server.port, ["/register erik", "/fingerprint"]);
    const sam = await chatSession(dir, server.port, ["/register sam", "/fingerprint erik"]);
    const own = erik.stdout.split("\n").find((l) => l.startsWith("your fingerprint: "))!;
    const seen = sam.stdout.split("\n").find((l) => l.startsWith("erik's fingerprint: "))!;
    assert.match(own, /^your fingerprint: ([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    assert.equal(own.slice("your fingerprint: ".length), seen.slice("erik's fingerprint: ".length));
  } finally {
    await server.stop();
  }
});

/** Valid keys for `name` that are not theirs: a CA-signed certificate and a bound encryption key. */
async function forgeKeys(dir: string, name: string) {
  const ca = await loadAuthority(dataPaths(dir));
  const identity = await generateKeyPair();
  const certificate = await signRequest(ca, await createRequest(name, identity));
  const encryption = generateEncryptionKeyPair();
  const own = new OwnKeys(
    {
      name,
      identity: new Uint8Array(certificate.publicKey.rawData),
      encryption: encryption.publicKey,
    },
    await exportPrivateKeyPem(identity.privateKey),
    encryption.privatePem,
  );
  return {
    certificate: new Uint8Array(certificate.rawData),
    encryptionKey: encryption.publicKey,
    binding: bindEncryptionKey(own),
  };
}
