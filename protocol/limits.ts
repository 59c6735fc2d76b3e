/**
 * Size limits of the wire protocol (protocol/README.md, "Limits"). Both sides
 * enforce them; a peer that exceeds one gets an error frame or is dropped.
 */

/**
 * One frame, newline included. Every server frame fits by construction (the
 * limits below leave room for the largest of each field once JSON-encoded,
 * protocol/frames_test.ts sends the worst case of each) and is checked again
 * after encoding (`encodeServerFrame`), so a client never receives a frame it
 * must refuse.
 */
export const MAX_FRAME_BYTES = 64 * 1024;
/**
 * Characters (code points) in one message; SPEC asks for at least 1000. Once
 * encoded, a code point costs at most 6 bytes (a control character's `\u0001`),
 * so a public text is at most 12,000 bytes on the wire.
 */
export const MAX_MESSAGE_CHARS = 2000;
/**
 * A private payload (an end-to-end envelope), counted as encoded in a frame:
 * printable ASCII only, its `"` and `\\` counted twice. An envelope of a maximal
 * message is about 11 KiB.
 */
export const MAX_PAYLOAD_BYTES = 32 * 1024;
/** Names in one `users` frame; a longer list is sent in several (`"more": true`). */
export const MAX_NAMES_PER_FRAME = 1000;
/** A public message's signature envelope (about 170 characters in version 1). */
export const MAX_SIGNATURE_CHARS = 1024;
/** A DER certificate handed out in a `keys` reply. */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;
/** DER SubjectPublicKeyInfo of an X25519 key (RFC 8410). */
export const ENCRYPTION_KEY_BYTES = 44;
/** An Ed25519 signature (RFC 8032). */
export const SIGNATURE_BYTES = 64;
/** Protocol versions this build speaks, newest last. */
export const PROTOCOL_VERSIONS = [2] as const;
export const PROTOCOL_VERSION = 2;
