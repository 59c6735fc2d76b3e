/**
 * Public keys that must never be accepted from a peer, checked where a key
 * enters (a certificate request, a certificate, a `keys` reply, a
 * registration): non-canonical encodings, and points of small order, which
 * make an X25519 shared secret all zeros (RFC 7748 section 6.1: OpenSSL then
 * fails the derivation) and let anyone forge Ed25519 signatures that verify
 * for many messages ("Taming the many EdDSAs", Chalkias et al., 2020).
 *
 * Both curves are the same curve (RFC 7748 section 4.1): an Ed25519 point
 * (x, y) maps to the Montgomery u = (1 + y) / (1 - y), and small order is
 * kept by the map, so one list of small-order u values serves both.
 */

/** 2^255 - 19, the field prime of Curve25519 and Ed25519. */
const P = (1n << 255n) - 19n;

/**
 * u of every point of order 1, 2, 4 or 8 on Curve25519 or its twist
 * (libsodium's blocklist, crypto_scalarmult/curve25519/ref10): 0, 1, the two
 * points of order 8, and p - 1.
 */
const SMALL_ORDER_U = new Set<bigint>([
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  P - 1n,
]);

/** The DER SubjectPublicKeyInfo prefixes RFC 8410 fixes for each key type. */
const X25519_SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00];
const ED25519_SPKI_PREFIX = [
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
];

function rawKey(spki: Uint8Array, prefix: number[]): Uint8Array | null {
  if (spki.byteLength !== prefix.length + 32) return null;
  if (!prefix.every((byte, i) => spki[i] === byte)) return null;
  return spki.subarray(prefix.length);
}

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  base %= P;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % P;
    base = (base * base) % P;
    exponent >>= 1n;
  }
  return result;
}

/** Why an X25519 public key (DER SPKI) is unusable, or null when it is fine. */
export function x25519KeyProblem(spki: Uint8Array): string | null {
  const raw = rawKey(spki, X25519_SPKI_PREFIX);
  if (raw === null) return "not an X25519 key";
  // RFC 7748 masks the top bit; a key that sets it, or encodes u >= p, has
  // another encoding: refuse both, so one key has one fingerprint.
  if (raw[31] & 0x80) return "non-canonical X25519 key";
  const u = littleEndian(raw);
  if (u >= P) return "non-canonical X25519 key";
  if (SMALL_ORDER_U.has(u)) return "X25519 key of small order";
  return null;
}

/** Why an Ed25519 public key (DER SPKI) is unusable, or null when it is fine. */
export function ed25519KeyProblem(spki: Uint8Array): string | null {
  const raw = rawKey(spki, ED25519_SPKI_PREFIX);
  if (raw === null) return "not an Ed25519 key";
  const y = littleEndian(raw) & ((1n << 255n) - 1n);
  if (y >= P) return "non-canonical Ed25519 key";
  // y = 1 is the neutral point (u would be infinite).
  if (y === 1n) return "Ed25519 key of small order";
  const u = ((1n + y) * power((1n - y + P) % P, P - 2n)) % P;
  if (SMALL_ORDER_U.has(u)) return "Ed25519 key of small order";
  return null;
}
