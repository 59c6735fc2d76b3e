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
/** Protocol versions this build speaks, newest last. */
export const PROTOCOL_VERSIONS = [1] as const;
export const PROTOCOL_VERSION = 1;
