/**
 * Hostile envelopes never crash the e2e checks and are never taken for the
 * real thing: private envelopes and public signatures are mutated inside,
 * field by field and in the bytes behind each base64url value
 * (testing/fuzz.ts), so they get past the parse and meet the signature
 * check and, with the signature taken as verified, the decryption. Each
 * refusal is a VerificationError; anything accepted must say exactly what
 * was signed. The seed is in the test's name (FUZZ_SEED=n replays).
 */

import assert from "node:assert/strict";
import {
  openPrivateMessage,
  PRIVATE_FIELDS,
  PUBLIC_FIELDS,
  sealPrivateMessage,
  signPublicMessage,
  VerificationError,
  verifyPublicMessage,
} from "./envelope.ts";
import { generateOwnKeys, Peer } from "./keys.ts";
import { generator, inputs, mutateBytes, mutateFields, SEED } from "../testing/fuzz.ts";

const alice = generateOwnKeys("alice");
const bob = generateOwnKeys("bob");
const TEXT = "fuzz me";

/** A compact envelope's fields by name (e2e/envelope.ts), and back. */
function fieldsOf(envelope: string, order: readonly string[]): Record<string, unknown> {
  const parts = envelope.split(".");
  return Object.fromEntries(order.map((field, i) => [field, parts[i]]));
}

function compact(fields: Record<string, unknown>, order: readonly string[]): string {
  return order.map((field) => String(fields[field])).join(".");
}

function tally(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

Deno.test(`fuzz seed ${SEED}: private envelopes mutated inside are refused or exactly the original`, () => {
  const random = generator(SEED ^ 0x5eed1);
  const envelope = sealPrivateMessage(alice, new Peer(bob.keys), TEXT);
  const original = fieldsOf(envelope, PRIVATE_FIELDS);
  // The JSON form of protocol version 1 (stored history), which names the parties itself.
  const legacy: Record<string, unknown> = {
    ...original,
    v: 1,
    time: Number(original.time),
    from: "alice",
    to: "bob",
  };
  const refusals = new Map<string, number>();
  const n = inputs(20_000);
  for (let i = 0; i < n; i++) {
    const form = random.int(10);
    const mutated = form < 6
      ? compact(mutateFields(random, original), PRIVATE_FIELDS)
      : form < 8
      ? JSON.stringify(mutateFields(random, legacy))
      : new TextDecoder().decode(mutateBytes(random, new TextEncoder().encode(envelope)));
    // Half the time as a reader who verified these bytes before: decryption decides.
    const signatureAlreadyVerified = random.int(2) === 0;
    const context = `seed ${SEED}, input ${i}: ${mutated.slice(0, 300)}`;
    try {
      const opened = openPrivateMessage(
        mutated,
        { from: "alice", to: "bob" },
        new Peer(alice.keys),
        bob,
        new Peer(alice.keys),
        { signatureAlreadyVerified },
      );
      // Accepted: only a change nothing depends on (`v` is checked, `sig` verified).
      const time = Number(original.time);
      assert.deepEqual(opened, { mid: original.mid, time, text: TEXT }, context);
      const json = mutated.startsWith("{");
      const parsed = json ? JSON.parse(mutated) : fieldsOf(mutated, PRIVATE_FIELDS);
      const expected = json ? legacy : original;
      for (const field of ["v", "mid", "time", "nonce", "ct", ...(json ? ["from", "to"] : [])]) {
        assert.deepEqual(parsed[field], expected[field], `${context}: ${field} changed`);
      }
      if (!signatureAlreadyVerified) assert.equal(parsed.sig, expected.sig, context);
      tally(refusals, "accepted");
    } catch (error) {
      if (!(error instanceof VerificationError)) throw new Error(`${context}: ${error}`);
      tally(refusals, error.message);
    }
  }
  console.log(JSON.stringify([...refusals]));
  // The mutations reached every stage: the parse, the routing, the signature, the cipher.
  for (const stage of ["malformed envelope", "bad signature", "cannot decrypt"]) {
    assert.ok(
      (refusals.get(stage) ?? 0) > n / 100,
      `"${stage}" reached ${refusals.get(stage)} times`,
    );
  }
  assert.ok(
    refusals.has("envelope names other parties than its delivery"),
    "the JSON form's check",
  );
});

Deno.test(`fuzz seed ${SEED}: public signatures mutated inside are refused or exactly the original`, () => {
  const random = generator(SEED ^ 0x5eed2);
  const signature = signPublicMessage(alice, TEXT);
  const original = fieldsOf(signature, PUBLIC_FIELDS);
  const refusals = new Map<string, number>();
  const n = inputs(20_000);
  for (let i = 0; i < n; i++) {
    const mutated = random.int(10) < 8
      ? compact(mutateFields(random, original), PUBLIC_FIELDS)
      : new TextDecoder().decode(mutateBytes(random, new TextEncoder().encode(signature)));
    // Sometimes the text or the sender named by the server is what changed.
    const text = random.int(8) === 0 ? TEXT + random.pick(["", " ", "!", "\u0000"]) : TEXT;
    const from = random.int(16) === 0 ? "bob" : "alice";
    const context = `seed ${SEED}, input ${i}: ${mutated.slice(0, 300)} ${JSON.stringify(text)}`;
    try {
      const verified = verifyPublicMessage(mutated, from, text, new Peer(alice.keys));
      const time = Number(original.time);
      assert.deepEqual(verified, { mid: original.mid, time, text: TEXT }, context);
      assert.equal(from, "alice", context);
      const parsed = fieldsOf(mutated, PUBLIC_FIELDS);
      for (const field of ["v", "mid", "time", "sig"]) {
        assert.deepEqual(parsed[field], original[field], `${context}: ${field} changed`);
      }
      tally(refusals, "accepted");
    } catch (error) {
      if (!(error instanceof VerificationError)) throw new Error(`${context}: ${error}`);
      tally(refusals, error.message);
    }
  }
  console.log(JSON.stringify([...refusals]));
  for (const stage of ["malformed signature", "bad signature", "signer is not the sender"]) {
    assert.ok((refusals.get(stage) ?? 0) > 0, `"${stage}" reached ${refusals.get(stage)} times`);
  }
  assert.ok((refusals.get("bad signature") ?? 0) > n / 100, "the signature check was reached");
});
