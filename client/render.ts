/**
 * How the client shows things: SPEC section 2's reply lines and message
 * formats, in the local time zone, with every control character neutralised
 * so that text from other users cannot move the cursor, retitle the
 * terminal or hide itself (ECMA-48 C0/C1 controls, DEL, and the Unicode
 * bidirectional overrides of UAX #9).
 */

import type { ErrorCode } from "../protocol/frames.ts";
import { ACTION_PREFIX } from "./commands.ts";

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

// C0 controls but tab, DEL, C1 controls, bidi embeddings/overrides/isolates,
// line and paragraph separators, and the invisible ones: zero-width spaces
// and joiners, word joiner and invisible operators, the byte order mark.
const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * Blanks that take a column or more: tab (up to 8), the Unicode spaces,
 * Hangul fillers, the blank Braille pattern. Shown as spaces.
 */
const BLANKS = /[\t\u00a0\u115f\u1160\u1680\u2000-\u200a\u202f\u205f\u2800\u3000\u3164\uffa0]/g;

/** Longest run of spaces shown as typed; a longer one is shown as one space. */
export const MAX_SHOWN_SPACES = 3;
const LONG_RUN = new RegExp(` {${MAX_SHOWN_SPACES + 1},}`, "g");

/**
 * Makes text from others safe to print: each unsafe character becomes U+FFFD
 * (so its presence stays visible), every blank a space, and a run of more
 * than MAX_SHOWN_SPACES spaces one space, so that no message can pad itself
 * to the edge of the terminal and have its rest look like a line of its own
 * (issue 8: spaces to column 80, then a fake line from bob).
 */
export function neutralise(text: string): string {
  return text.replace(UNSAFE, "\ufffd").replace(BLANKS, " ").replace(LONG_RUN, " ");
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DD HH:MM:SS` in the local time zone (TZ). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A public message; an action (`/me waves`, client/commands.ts) as `* sam waves`. */
export function renderPublic(time: number, from: string, text: string): string {
  if (text.startsWith(ACTION_PREFIX)) {
    return `${formatTime(time)} * ${from} ${neutralise(text.slice(ACTION_PREFIX.length))}`;
  }
  return `${formatTime(time)} ${from}: ${neutralise(text)}`;
}

export function renderPrivate(time: number, from: string, to: string, text: string): string {
  return `${formatTime(time)} ${from}: @${to} ${neutralise(text)}`;
}
