/**
 * Byte encodings of the envelope format (e2e/README.md): base64url without
 * padding for binary fields (shared with the wire protocol), and the
 * labelled, zero-separated strings that signatures and key derivations are
 * computed over.
 */

export { fromBase64Url, toBase64Url } from "../protocol/base64url.ts";

const encoder = new TextEncoder();

/** `label || 0x00 || JSON(fields)`: what is signed, derived or authenticated. */
export function labelled(label: string, fields: unknown[]): Uint8Array {
  return encoder.encode(`${label}\0${JSON.stringify(fields)}`);
}
