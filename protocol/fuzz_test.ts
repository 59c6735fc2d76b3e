/**
 * Hostile input never crashes the protocol's parsers: random and mutated
 * frames go through the framing, both frame decoders and the client's
 * grammar, which may only succeed or refuse in their documented way
 * (ProtocolError, FrameTooLargeError). Mutations reach inside the frames
 * (testing/fuzz.ts): a field's value changed, dropped or added, so most
 * inputs pass the JSON parse and meet the field checks. The envelopes
 * inside frames are fuzzed in e2e/fuzz_test.ts, certificates in
 * pki/fuzz_test.ts, keys replies in client/, requests in server/. The seed is
 * in the test's name; FUZZ_SEED=n replays a run, FUZZ_INPUTS=n changes its size.
 */

import assert from "node:assert/strict";
import { decodeClientFrame, decodeServerFrame, encodeFrame, ProtocolError } from "./frames.ts";
import type { ClientFrame, ServerFrame } from "./frames.ts";
import { FrameTooLargeError, LineDecoder } from "./line_decoder.ts";
import { parseLine } from "../client/commands.ts";
import { sealPrivateMessage, signPublicMessage } from "../e2e/envelope.ts";
import { generateOwnKeys, Peer } from "../e2e/keys.ts";
import { generator, inputs, mutateBytes, mutateFields, SEED } from "../testing/fuzz.ts";

const INPUTS = inputs(100_000);

const alice = generateOwnKeys("alice");
const bob = generateOwnKeys("bob");
const envelope = sealPrivateMessage(alice, new Peer(bob.keys), "fuzz me");
const signature = signPublicMessage(alice, "fuzz me");

const VALID: Array<ClientFrame | ServerFrame> = [
  { type: "hello", versions: [2] },
  {
    type: "register",
    id: 1,
    name: "sam",
    encryption_key: "A".repeat(59),
    binding: "B".repeat(85) + "A",
  },
  { type: "login", id: 2, name: "sam" },
  { type: "users", id: 3 },
  { type: "keys", id: 4, name: "erik" },
  { type: "ping", id: 5 },
  { type: "public", id: 6, text: "hello", signature },
  { type: "private", id: 7, to: "bob", payload: envelope },
  { type: "exit" },
  { type: "hello", version: 2 },
  { type: "ok", re: 1, status: "registered" },
  { type: "error", re: 2, code: "user_not_found" },
  { type: "users", re: 3, names: ["a", "b"] },
  { type: "public", id: 9, time: 1, from: "alice", text: "hi", signature },
  { type: "private", id: 10, time: 2, from: "alice", to: "bob", payload: envelope },
  { type: "history_end", re: 1 },
  { type: "pong", re: 5 },
];

const encoder = new TextEncoder();

Deno.test(`fuzz seed ${SEED}: ${INPUTS} hostile inputs to framing, frame decoders and grammar`, () => {
  console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  const random = generator(SEED);
  const refusals = new Map<string, number>();
  let changedAndAccepted = 0;
  for (let i = 0; i < INPUTS; i++) {
    const original = random.pick(VALID);
    const text = encodeFrame(original).trimEnd();
    // Mostly inside the frame, where the field checks are; the rest on its bytes.
    const input = random.int(10) < 6
      ? encoder.encode(JSON.stringify(mutateFields(random, JSON.parse(text))))
      : mutateBytes(random, encoder.encode(text));
    const context = `seed ${SEED}, input ${i}: ${new TextDecoder().decode(input.subarray(0, 200))}`;
    for (const decode of [decodeClientFrame, decodeServerFrame]) {
      try {
        const frame = decode(input);
        // What is accepted survives a round trip unchanged.
        assert.deepEqual(decode(encoder.encode(encodeFrame(frame).trimEnd())), frame, context);
        try {
          assert.deepEqual(frame, original);
        } catch {
          changedAndAccepted++;
        }
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw new Error(`${context}: ${error}`);
        refusals.set(error.message, (refusals.get(error.message) ?? 0) + 1);
      }
    }
    if (i % 10 === 0) {
      // Framing, in random pieces.
      const decoder = new LineDecoder(4096);
      try {
        for (let at = 0; at < input.length;) {
          const size = 1 + random.int(64);
          decoder.push(input.subarray(at, at + size));
          at += size;
        }
      } catch (error) {
        if (!(error instanceof FrameTooLargeError)) throw new Error(`${context}: ${error}`);
      }
      // The grammar takes any line.
      parseLine(new TextDecoder().decode(input));
    }
  }
  console.log(
    `accepted changed: ${changedAndAccepted}; refusals: ${JSON.stringify([...refusals])}`,
  );
  // Changed frames got through, and refusals came from many different checks:
  // the inputs went past the JSON parse into the field checks.
  assert.ok(changedAndAccepted > INPUTS / 20, `only ${changedAndAccepted} changed frames accepted`);
  assert.ok(refusals.size >= 10, `only ${refusals.size} kinds of refusal: ${[...refusals.keys()]}`);
  assert.ok(
    [...refusals.keys()].filter((reason) => !/JSON|not an object/.test(reason)).length >= 8,
    "most refusals come from field checks",
  );
});
