/** base64url without padding (RFC 4648 section 5), the encoding of every binary field. */

import { Buffer } from "node:buffer";

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** Strict: the canonical encoding of exactly `length` bytes (any length if omitted), or null. */
export function fromBase64Url(text: unknown, length?: number): Uint8Array | null {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const bytes = new Uint8Array(Buffer.from(text, "base64url"));
  if (length !== undefined && bytes.byteLength !== length) return null;
  // One byte string has one text: stray bits make another envelope.
  if (toBase64Url(bytes) !== text) return null;
  return bytes;
}
