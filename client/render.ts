/**
 * How the client shows things: SPEC section 2's reply lines and message
 * formats, in the local time zone, with every control character neutralised
 * so that text from other users cannot move the cursor, retitle the
 * terminal or hide itself (ECMA-48 C0/C1 controls, DEL, and the Unicode
 * bidirectional overrides of UAX #9).
 */

import type { ErrorCode } from "../protocol/frames.ts";

export const REPLIES: Record<ErrorCode, string> = {
  user_exists: "error: user already exists",
  invalid_credentials: "error: invalid credentials",
  already_logged_in: "error: user is already logged in",
  user_not_found: "error: user not found",
  invalid_format: "error: invalid command format",
  not_available: "error: command not currently available",
  too_long: "error: message too long",
  malformed: "error: the server could not read a request",
  unsupported_version: "error: the server speaks another protocol version",
  rate_limited: "error: too many attempts from this address; try again in a minute",
  message_rate_exceeded:
    "error: message not stored: more messages a minute than the server allows; wait a little",
  daily_quota_exceeded:
    "error: message not stored: your storage on the server for today is used up",
};

export const REGISTRATION_SUCCEEDED = "Registration Succeeded";
export const AUTHENTICATION_SUCCEEDED = "Authentication Succeeded";

// C0 controls but tab (a message keeps its inner whitespace), DEL, C1
// controls, bidi embeddings/overrides/isolates, line and paragraph separators.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Replaces each unsafe character with U+FFFD, so its presence stays visible. */
export function neutralise(text: string): string {
  return text.replace(UNSAFE, "\ufffd");
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DD HH:MM:SS` in the local time zone (TZ). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function renderPublic(time: number, from: string, text: string): string {
  return `${formatTime(time)} ${from}: ${neutralise(text)}`;
}

export function renderPrivate(time: number, from: string, to: string, text: string): string {
  return `${formatTime(time)} ${from}: @${to} ${neutralise(text)}`;
}
