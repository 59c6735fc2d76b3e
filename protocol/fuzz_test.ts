/**
 * Hostile input never crashes the parsers: random and mutated frames go
 * through the framing, both frame decoders, the client's grammar and the
 * envelope checks, which may only succeed or refuse in their documented way
 * (ProtocolError, FrameTooLargeError, VerificationError). The seed is printed;
 * FUZZ_SEED=n replays a run, FUZZ_INPUTS=n changes its size.
 */

import assert from "node:assert/strict";
import { decodeClientFrame, decodeServerFrame, encodeFrame, ProtocolError } from "./frames.ts";
import type { ClientFrame, ServerFrame } from "./frames.ts";
import { FrameTooLargeError, LineDecoder } from "./line_decoder.ts";
import { parseLine } from "../client/commands.ts";
import {
  openPrivateMessage,
  sealPrivateMessage,
  signPublicMessage,
  VerificationError,
  verifyPublicMessage,
} from "../e2e/envelope.ts";
import { generateOwnKeys, Peer } from "../e2e/keys.ts";

const INPUTS = Number(Deno.env.get("FUZZ_INPUTS") ?? 100_000);
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));

/** xorshift32: small, fast, and the same sequence for the same seed everywhere. */
function generator(seed: number) {
  let state = seed || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]) => items[int(items.length)];
  return { next, int, pick };
}

const alice = generateOwnKeys("alice");
const bob = generateOwnKeys("bob");
const envelope = sealPrivateMessage(alice, new Peer(bob.keys), "fuzz me");
const signature = signPublicMessage(alice, "fuzz me");

const VALID: Array<ClientFrame | ServerFrame> = [
  { type: "hello", versions: [1] },
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
  { type: "hello", version: 1 },
  { type: "ok", re: 1, status: "registered" },
  { type: "error", re: 2, code: "user_not_found" },
  { type: "users", re: 3, names: ["a", "b"] },
  { type: "public", id: 9, time: 1, from: "alice", text: "hi", signature },
  { type: "private", id: 10, time: 2, from: "alice", to: "bob", payload: envelope },
  { type: "history_end", re: 1 },
  { type: "pong", re: 5 },
];

const NASTY_VALUES = [
  "null",
  "true",
  "-0",
  "1e309",
  "9007199254740993",
  "-1",
  "0.5",
  '""',
  '"\\u0000"',
  '"\\ud800"',
  '"\\u001b[2J"',
  "[]",
  "{}",
  '"' + "x".repeat(70_000) + '"',
  "[".repeat(5000) + "]".repeat(5000),
  '{"a":'.repeat(2000) + "1" + "}".repeat(2000),
  '"@sam"',
  '"../../etc/passwd"',
  '"sam\\nlogin"',
];

function mutate(random: ReturnType<typeof generator>, text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  switch (random.int(7)) {
    case 0: { // flip bits
      const out = bytes.slice();
      for (let i = 0, n = 1 + random.int(8); i < n; i++) {
        out[random.int(out.length)] ^= 1 << random.int(8);
      }
      return out;
    }
    case 1: // truncate
      return bytes.subarray(0, random.int(bytes.length));
    case 2: { // random bytes inserted
      const at = random.int(bytes.length);
      const noise = Uint8Array.from({ length: 1 + random.int(16) }, () => random.int(256));
      return new Uint8Array([...bytes.subarray(0, at), ...noise, ...bytes.subarray(at)]);
    }
    case 3: { // a field's value replaced by a nasty one
      const object = JSON.parse(text);
      const field = random.pick(Object.keys(object));
      return new TextEncoder().encode(
        JSON.stringify(object).replace(
          `"${field}":${JSON.stringify(object[field])}`,
          `"${field}":${random.pick(NASTY_VALUES)}`,
        ),
      );
    }
    case 4: // pure noise
      return Uint8Array.from({ length: random.int(300) }, () => random.int(256));
    case 5: // invalid UTF-8 sequences
      return new Uint8Array([...bytes.subarray(0, 10), 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xff]);
    default: // duplicated, reordered keys
      return new TextEncoder().encode(
        text.replace("{", `{"type":"${random.pick(["users", "x", ""])}",`),
      );
  }
}

Deno.test(`fuzz: ${INPUTS} hostile inputs to framing, decoders, grammar and envelopes`, () => {
  console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  const random = generator(SEED);
  const texts = VALID.map((frame) => encodeFrame(frame).trimEnd());
  let accepted = 0;
  for (let i = 0; i < INPUTS; i++) {
    const input = mutate(random, random.pick(texts));
    const context = `seed ${SEED}, input ${i}`;
    for (const decode of [decodeClientFrame, decodeServerFrame]) {
      try {
        const frame = decode(input);
        accepted++;
        // What is accepted survives a round trip unchanged.
        assert.deepEqual(
          decode(new TextEncoder().encode(encodeFrame(frame).trimEnd())),
          frame,
          context,
        );
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw new Error(`${context}: ${error}`);
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
      // Envelopes: refused with a VerificationError, never anything else.
      const text = new TextDecoder().decode(input);
      try {
        openPrivateMessage(
          text,
          { from: "alice", to: "bob" },
          new Peer(alice.keys),
          bob,
          new Peer(alice.keys),
        );
      } catch (error) {
        if (!(error instanceof VerificationError)) throw new Error(`${context}: ${error}`);
      }
      try {
        verifyPublicMessage(text, "alice", "fuzz me", new Peer(alice.keys));
      } catch (error) {
        if (!(error instanceof VerificationError)) throw new Error(`${context}: ${error}`);
      }
    }
  }
  // The mutations keep some inputs valid: the decoders were exercised past their first check.
  assert.ok(accepted > INPUTS / 50, `only ${accepted} inputs were accepted`);
});
