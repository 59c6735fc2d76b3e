/**
 * Size limits of the wire protocol (protocol/README.md, "Limits"). Both sides
 * enforce them; a peer that exceeds one gets an error frame or is dropped.
 */

/** One frame, newline included. Room for the largest private payload plus JSON. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Characters (code points) in one message; SPEC asks for at least 1000. */
export const MAX_MESSAGE_CHARS = 2000;
/** An opaque private payload; an end-to-end envelope of a maximal message fits. */
export const MAX_PAYLOAD_BYTES = 32 * 1024;
/** A public message's signature envelope (about 170 characters in version 1). */
export const MAX_SIGNATURE_CHARS = 1024;
/** A DER certificate handed out in a `keys` reply. */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;
/** DER SubjectPublicKeyInfo of an X25519 key (RFC 8410). */
export const ENCRYPTION_KEY_BYTES = 44;
/** An Ed25519 signature (RFC 8032). */
export const SIGNATURE_BYTES = 64;
/** Protocol versions this build speaks, newest last. */
export const PROTOCOL_VERSIONS = [1] as const;
export const PROTOCOL_VERSION = 1;
