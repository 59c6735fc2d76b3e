/**
 * The fuzzers' shared parts: one seeded generator (FUZZ_SEED=n replays a
 * run, FUZZ_INPUTS=n scales it) and mutators that work at two depths: on the
 * bytes of a whole input, and on the fields inside it, down into JSON
 * nested in strings and the bytes behind base64url, so that mutated inputs
 * get past the first parse and reach the checks behind it (signatures,
 * decryption, certificate fields).
 */

import { fromBase64Url, toBase64Url } from "../protocol/base64url.ts";

/** The run's seed, the same for every fuzz test in the process; shown in each test's name. */
export const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
/** Scales every fuzz test's number of inputs (1 = the default size). */
export const SCALE = Number(Deno.env.get("FUZZ_INPUTS") ?? 100_000) / 100_000;

/** `n` scaled by FUZZ_INPUTS, at least 1. */
export function inputs(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

export type Random = ReturnType<typeof generator>;

/** xorshift32: small, fast, and the same sequence for the same seed everywhere. */
export function generator(seed: number = SEED) {
  let state = (seed >>> 0) || 1;
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

/** JSON texts that break assumptions: types, ranges, escapes, depth, size. */
export const NASTY_JSON = [
  "null",
  "true",
  "-0",
  "1e309",
  "9007199254740993",
  "-1",
  "0",
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

/** Byte-level damage to a whole input. */
export function mutateBytes(random: Random, bytes: Uint8Array): Uint8Array {
  switch (random.int(6)) {
    case 0: { // flip bits
      const out = bytes.slice();
      if (out.length === 0) return new Uint8Array([random.int(256)]);
      for (let i = 0, n = 1 + random.int(8); i < n; i++) {
        out[random.int(out.length)] ^= 1 << random.int(8);
      }
      return out;
    }
    case 1: // truncate
      return bytes.subarray(0, random.int(bytes.length));
    case 2: { // random bytes inserted
      const at = random.int(bytes.length + 1);
      const noise = Uint8Array.from({ length: 1 + random.int(16) }, () => random.int(256));
      return new Uint8Array([...bytes.subarray(0, at), ...noise, ...bytes.subarray(at)]);
    }
    case 3: // pure noise
      return Uint8Array.from({ length: random.int(300) }, () => random.int(256));
    case 4: { // a byte set to a boundary value
      const out = bytes.slice();
      if (out.length > 0) out[random.int(out.length)] = random.pick([0x00, 0x7f, 0x80, 0xff]);
      return out;
    }
    default: // invalid UTF-8 sequences
      return new Uint8Array([...bytes.subarray(0, 10), 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xff]);
  }
}

/** A changed value of the same kind where that makes sense, so it passes type checks. */
export function mutateValue(random: Random, value: unknown, depth = 0): unknown {
  if (random.int(8) === 0) return JSON.parse(random.pick(NASTY_JSON.slice(0, 14)));
  if (typeof value === "string") {
    if (depth < 2 && value.startsWith("{")) {
      // JSON inside a string (an envelope): mutate its fields.
      try {
        return JSON.stringify(mutateFields(random, JSON.parse(value), depth + 1));
      } catch { /* not JSON after all */ }
    }
    const bytes = value.length >= 8 ? fromBase64Url(value) : null;
    if (bytes !== null && random.int(4) !== 0) {
      // The bytes behind base64url: still valid base64url, so the decoder passes it on.
      return toBase64Url(mutateBytes(random, bytes));
    }
    switch (random.int(5)) {
      case 0:
        return value.slice(0, random.int(value.length + 1));
      case 1:
        return value + random.pick(["x", "\u0000", "\u001b[2J", "\ud800", "é", "😀", "=", " "]);
      case 2: {
        const at = random.int(value.length + 1);
        return value.slice(0, at) + String.fromCharCode(random.int(0x3000)) + value.slice(at + 1);
      }
      case 3:
        return value.repeat(2 + random.int(40));
      default:
        return random.pick(["", "sam", "alice", "bob", "erik", "x".repeat(33), "A".repeat(86)]);
    }
  }
  if (typeof value === "number") {
    return random.pick([0, -1, 1, value + 1, value - 1, 2 ** 53, 2 ** 31, 0.5, -0, 1e21]);
  }
  if (Array.isArray(value)) {
    const out = value.slice();
    if (out.length > 0 && random.int(2) === 0) out.splice(random.int(out.length), 1);
    else out.splice(random.int(out.length + 1), 0, mutateValue(random, out[0] ?? 1, depth));
    return out;
  }
  if (typeof value === "object" && value !== null) {
    return mutateFields(random, value as Record<string, unknown>, depth + 1);
  }
  return random.pick([null, true, false, 0, "", {}]);
}

/** One to three fields changed, dropped or added; the object stays an object. */
export function mutateFields(
  random: Random,
  object: Record<string, unknown>,
  depth = 0,
): Record<string, unknown> {
  const out = { ...object };
  const keys = Object.keys(out);
  for (let i = 0, n = 1 + random.int(3); i < n; i++) {
    const key = keys.length > 0 ? random.pick(keys) : "x";
    switch (random.int(10)) {
      case 0:
        delete out[key];
        break;
      case 1:
        out[random.pick(["extra", "constructor", "re", "id", "type"])] = mutateValue(
          random,
          out[key],
          depth,
        );
        break;
      default:
        out[key] = mutateValue(random, out[key], depth);
    }
  }
  return out;
}
