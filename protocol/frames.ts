/**
 * The frames of protocol version 2 (protocol/README.md): their types, their
 * encoding, and strict decoders for each direction. Decoders take the bytes
 * of one line and return a typed frame or throw ProtocolError; they never
 * trust a field's type, size or shape.
 */

import { fromBase64Url } from "./base64url.ts";
import {
  ENCRYPTION_KEY_BYTES,
  MAX_CERTIFICATE_BYTES,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_CHARS,
  MAX_NAMES_PER_FRAME,
  MAX_PAYLOAD_BYTES,
  MAX_SIGNATURE_CHARS,
  SIGNATURE_BYTES,
} from "./limits.ts";
import { isValidName } from "./names.ts";

/** Error codes a server sends; the client maps them to SPEC's reply lines. */
export const ERROR_CODES = [
  "user_exists",
  "invalid_credentials",
  "already_logged_in",
  "user_not_found",
  "invalid_format",
  "not_available",
  "too_long",
  "malformed",
  "unsupported_version",
  "rate_limited",
  "message_rate_exceeded",
  "daily_quota_exceeded",
] as const;
export type ErrorCode = typeof ERROR_CODES[number];

/**
 * Which history to send (protocol/README.md, "History"): the messages with
 * `after < id < before` (either bound optional), or only the most recent
 * `last` of them.
 */
export interface HistoryRange {
  after?: number;
  before?: number;
  last?: number;
}

export type ClientFrame =
  | { type: "hello"; versions: number[] }
  | RegisterRequest
  | LoginRequest
  | HistoryRequest
  | { type: "users"; id: number }
  | { type: "keys"; id: number; name: string }
  | { type: "ping"; id: number }
  | { type: "public"; id: number; text: string; signature: string } & Resendable
  | { type: "private"; id: number; to: string; payload: string } & Resendable
  | { type: "exit" };

export interface LoginRequest {
  type: "login";
  id: number;
  name: string;
  /** The history to send after `ok` (all of it when absent). */
  after?: number;
  last?: number;
}

/** More history, for a logged-in user: `history_start`, the messages, `history_end`. */
export interface HistoryRequest extends HistoryRange {
  type: "history";
  id: number;
}

/**
 * A message request may carry the id its client chose (`cid`), kept with the
 * message; `resend` marks a request sent again after a lost connection, which
 * the server answers with the message it already stored under that id.
 */
export interface Resendable {
  cid?: string;
  resend?: true;
}

export interface RegisterRequest {
  type: "register";
  id: number;
  name: string;
  after?: number;
  last?: number;
  /** base64url DER SubjectPublicKeyInfo of the user's X25519 key (e2e/README.md). */
  encryption_key: string;
  /** base64url Ed25519 signature binding that key to the name (e2e/README.md). */
  binding: string;
}

/** A user's keys as the server hands them out; peers verify them, the server cannot. */
export interface KeysReply {
  type: "keys";
  re: number;
  name: string;
  /** base64url DER certificate the user registered with. */
  certificate: string;
  encryption_key: string;
  binding: string;
}

export interface PublicMessage {
  type: "public";
  /** The request this echoes, on the sender's copy only. */
  re?: number;
  id: number;
  /** Milliseconds since the Unix epoch, assigned by the server. */
  time: number;
  from: string;
  text: string;
  /** Opaque to the server: the sender's signature envelope over the text. */
  signature: string;
}

export interface PrivateMessage {
  type: "private";
  re?: number;
  id: number;
  time: number;
  from: string;
  to: string;
  /** Opaque to the server: what the sender's client put there. */
  payload: string;
}

/** Online names, sorted; a long list comes in several frames, all but the last with `more`. */
export interface UsersReply {
  type: "users";
  re: number;
  names: string[];
  more?: true;
}

export type ServerFrame =
  | { type: "hello"; version: number }
  | { type: "ok"; re: number; status: "registered" | "authenticated" }
  | { type: "error"; re?: number; code: ErrorCode }
  | UsersReply
  | KeysReply
  | PublicMessage
  | PrivateMessage
  | HistoryStart
  | { type: "history_end"; re: number }
  | { type: "pong"; re: number }
  | Presence;

/** Another user logged in or out: a notice, not a message (never stored, never history). */
export interface Presence {
  type: "presence";
  name: string;
  event: "joined" | "left";
}

/**
 * Opens a history that was asked for with `last` or by a `history` request:
 * `earlier` messages of the asked range precede the ones that follow.
 */
export interface HistoryStart {
  type: "history_start";
  re: number;
  earlier: number;
}

/** A frame that cannot be accepted; `code` is what the server answers. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(readonly code: ErrorCode, message: string = code) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** One frame as one line of JSON, newline included. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame) + "\n";
}

/**
 * The sender's copy of a message line made by encodeFrame: the same frame
 * with `re` added, byte for byte what `encodeFrame({ ...frame, re })` makes,
 * without encoding the frame a second time.
 */
export function encodeEcho(line: string, re: number): string {
  // JSON.stringify puts a new key last: the echo is the line before its "}\n", then `re`.
  return `${line.slice(0, -2)},"re":${re}}\n`;
}

/** A server frame that would exceed MAX_FRAME_BYTES once encoded: it is never sent. */
export class FrameTooLongError extends Error {
  override name = "FrameTooLongError";
}

/**
 * A server frame as one line, checked against MAX_FRAME_BYTES after encoding
 * (throws FrameTooLongError): the client drops a connection that sends more.
 */
export function encodeServerFrame(frame: ServerFrame): string {
  const line = encodeFrame(frame);
  if (!fitsFrame(line)) throw new FrameTooLongError(`${frame.type} frame over the frame limit`);
  return line;
}

/** Whether an encoded line (newline included) is at most MAX_FRAME_BYTES of UTF-8. */
export function fitsFrame(line: string): boolean {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most lines need no counting.
  return line.length * 3 <= MAX_FRAME_BYTES || utf8Length(line) <= MAX_FRAME_BYTES;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Splits the online names into `users` frames that each fit. */
export function usersReplies(re: number, names: readonly string[]): UsersReply[] {
  const replies: UsersReply[] = [];
  for (let start = 0; start === 0 || start < names.length; start += MAX_NAMES_PER_FRAME) {
    const chunk = names.slice(start, start + MAX_NAMES_PER_FRAME);
    const last = start + MAX_NAMES_PER_FRAME >= names.length;
    replies.push(
      last ? { type: "users", re, names: chunk } : { type: "users", re, names: chunk, more: true },
    );
  }
  return replies;
}

export function encodeFrameBytes(frame: ClientFrame | ServerFrame): Uint8Array {
  return encoder.encode(encodeFrame(frame));
}

/** Code points, the unit of MAX_MESSAGE_CHARS: a user counts characters, not UTF-16 units. */
export function messageLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export function decodeClientFrame(line: Uint8Array): ClientFrame {
  const object = parseObject(line);
  switch (object.type) {
    case "hello":
      return { type: "hello", versions: versionList(object.versions) };
    case "register":
      return {
        type: "register",
        id: requestId(object.id),
        name: userName(object.name),
        encryption_key: binary(object.encryption_key, ENCRYPTION_KEY_BYTES),
        binding: binary(object.binding, SIGNATURE_BYTES),
        ...historyRange(object, false),
      };
    case "login":
      return {
        type: "login",
        id: requestId(object.id),
        name: userName(object.name),
        ...historyRange(object, false),
      };
    case "history":
      return { type: "history", id: requestId(object.id), ...historyRange(object, true) };
    case "keys":
      return { type: object.type, id: requestId(object.id), name: userName(object.name) };
    case "users":
    case "ping":
      return { type: object.type, id: requestId(object.id) };
    case "public":
      return {
        type: "public",
        id: requestId(object.id),
        text: messageText(object.text),
        signature: signature(object.signature),
        ...resendable(object),
      };
    case "private":
      return {
        type: "private",
        id: requestId(object.id),
        to: userName(object.to),
        payload: payload(object.payload),
        ...resendable(object),
      };
    case "exit":
      return { type: "exit" };
    default:
      throw new ProtocolError("malformed", "unknown frame type");
  }
}

export function decodeServerFrame(line: Uint8Array): ServerFrame {
  const object = parseObject(line);
  switch (object.type) {
    case "hello":
      return { type: "hello", version: positiveInteger(object.version) };
    case "ok": {
      const status = object.status;
      if (status !== "registered" && status !== "authenticated") {
        throw new ProtocolError("malformed", "unknown status");
      }
      return { type: "ok", re: requestId(object.re), status };
    }
    case "error": {
      const code = object.code;
      if (!ERROR_CODES.includes(code as ErrorCode)) {
        throw new ProtocolError("malformed", "unknown error code");
      }
      return {
        type: "error",
        ...optionalRe(object.re),
        code: code as ErrorCode,
      };
    }
    case "users": {
      const names = object.names;
      if (!Array.isArray(names) || names.length > MAX_NAMES_PER_FRAME) {
        throw new ProtocolError("malformed", "bad user list");
      }
      if (object.more !== undefined && object.more !== true) {
        throw new ProtocolError("malformed", "bad more flag");
      }
      const re = requestId(object.re);
      return object.more ? { type: "users", re, names: names.map(userName), more: true } : {
        type: "users",
        re,
        names: names.map(userName),
      };
    }
    case "keys":
      return {
        type: "keys",
        re: requestId(object.re),
        name: userName(object.name),
        certificate: binary(object.certificate, undefined, MAX_CERTIFICATE_BYTES),
        encryption_key: binary(object.encryption_key, ENCRYPTION_KEY_BYTES),
        binding: binary(object.binding, SIGNATURE_BYTES),
      };
    case "public":
      return {
        type: "public",
        ...optionalRe(object.re),
        id: positiveInteger(object.id),
        time: timestamp(object.time),
        from: userName(object.from),
        text: relayedText(object.text),
        signature: relayedText(object.signature),
      };
    case "private":
      return {
        type: "private",
        ...optionalRe(object.re),
        id: positiveInteger(object.id),
        time: timestamp(object.time),
        from: userName(object.from),
        to: userName(object.to),
        payload: relayedPayload(object.payload),
      };
    case "history_start":
      return {
        type: "history_start",
        re: requestId(object.re),
        earlier: messageCount(object.earlier),
      };
    case "history_end":
    case "pong":
      return { type: object.type, re: requestId(object.re) };
    case "presence": {
      const event = object.event;
      if (event !== "joined" && event !== "left") {
        throw new ProtocolError("malformed", "unknown presence event");
      }
      return { type: "presence", name: userName(object.name), event };
    }
    default:
      throw new ProtocolError("malformed", "unknown frame type");
  }
}

function parseObject(line: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(line));
  } catch {
    throw new ProtocolError("malformed", "not UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("malformed", "frame is not an object");
  }
  return value as Record<string, unknown>;
}

function positiveInteger(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new ProtocolError("malformed", "expected a positive integer");
  }
  return value as number;
}

const requestId = positiveInteger;

function optionalRe(value: unknown): { re?: number } {
  return value === undefined ? {} : { re: requestId(value) };
}

function messageCount(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ProtocolError("malformed", "bad count");
  }
  return (value as number) + 0;
}

/** The optional history bounds of a request; `before` only where `withBefore`. */
function historyRange(object: Record<string, unknown>, withBefore: boolean): HistoryRange {
  const range: HistoryRange = {};
  if (object.after !== undefined) range.after = messageCount(object.after);
  if (withBefore && object.before !== undefined) range.before = positiveInteger(object.before);
  if (object.last !== undefined) range.last = positiveInteger(object.last);
  return range;
}

/**
 * Whether `frame` is the last of the reply to request `frame.re`: everything
 * with `re` but the `ok` and `history_start` before a history and the
 * `users` frames that say more follow.
 */
export function endsRequest(frame: ServerFrame): boolean {
  if (!("re" in frame) || frame.re === undefined) return false;
  if (frame.type === "ok" || frame.type === "history_start") return false;
  return !(frame.type === "users" && frame.more === true);
}

/** A message request's `cid` (16 to 64 of A-Z a-z 0-9 _ -) and `resend` (true), both optional. */
function resendable(object: Record<string, unknown>): Resendable {
  const { cid, resend } = object;
  if (cid === undefined) {
    if (resend !== undefined) throw new ProtocolError("invalid_format", "resend without cid");
    return {};
  }
  if (typeof cid !== "string" || !/^[A-Za-z0-9_-]{16,64}$/.test(cid)) {
    throw new ProtocolError("invalid_format", "bad cid");
  }
  if (resend === undefined) return { cid };
  if (resend !== true) throw new ProtocolError("invalid_format", "bad resend");
  return { cid, resend };
}

function timestamp(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ProtocolError("malformed", "bad timestamp");
  }
  // JSON allows -0; it is 0 (found by the fuzz test: -0 does not survive a round trip).
  return (value as number) + 0;
}

function versionList(value: unknown): number[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > 16) {
    throw new ProtocolError("malformed", "bad version list");
  }
  return value.map(positiveInteger);
}

function userName(value: unknown): string {
  if (typeof value !== "string" || !isValidName(value)) {
    throw new ProtocolError("invalid_format", "bad user name");
  }
  return value;
}

/**
 * A message's text. U+0000 is refused: SQLite reads text back only up to
 * its first NUL, so "hi\u0000evil" would be stored as "hi" (found by the
 * session fuzz test).
 */
function messageText(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.includes("\0")) {
    throw new ProtocolError("invalid_format", "bad message text");
  }
  if (messageLength(value) > MAX_MESSAGE_CHARS) {
    throw new ProtocolError("too_long", "message too long");
  }
  return value;
}

/** A signature envelope: printable ASCII, as a private payload (and so never a NUL). */
function signature(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ProtocolError("invalid_format", "bad signature");
  }
  if (value.length > MAX_SIGNATURE_CHARS) throw new ProtocolError("too_long", "signature too long");
  if (!PAYLOAD_SHAPE.test(value)) throw new ProtocolError("invalid_format", "bad signature");
  return value;
}

/**
 * A stored message's text or signature as the server relays it: the frame
 * limit bounds it, and the reader's signature check judges it. Whatever a
 * database holds (an older version's rules, a truncation), one stored
 * message must never cost its readers the connection.
 */
function relayedText(value: unknown): string {
  if (typeof value !== "string") throw new ProtocolError("invalid_format", "bad message text");
  return value;
}

/** A base64url field: `length` bytes exactly, or up to `maxBytes`. */
function binary(value: unknown, length?: number, maxBytes = Infinity): string {
  const bytes = fromBase64Url(value, length);
  if (bytes === null || bytes.byteLength === 0 || bytes.byteLength > maxBytes) {
    throw new ProtocolError("invalid_format", "bad binary field");
  }
  return value as string;
}

/**
 * A payload as the server relays it: the frame limit bounds it, and the
 * reader's envelope check judges it (a message stored under older rules must
 * not cost its reader the connection).
 */
function relayedPayload(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ProtocolError("invalid_format", "bad payload");
  }
  return value;
}

/** Printable ASCII: what an envelope is made of (JSON of names, digits and base64url). */
const PAYLOAD_SHAPE = /^[\x20-\x7e]+$/;
const ESCAPED = /["\\]/g;

/**
 * A private payload: printable ASCII, so that its size in a frame is known
 * without encoding it (only `"` and `\\` gain a backslash), and at most
 * MAX_PAYLOAD_BYTES as encoded. Its size is checked before its shape, so a
 * long one costs no scan.
 */
function payload(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ProtocolError("invalid_format", "bad payload");
  }
  if (value.length > MAX_PAYLOAD_BYTES) throw new ProtocolError("too_long", "payload too long");
  if (!PAYLOAD_SHAPE.test(value)) throw new ProtocolError("invalid_format", "bad payload");
  if (value.length + (value.match(ESCAPED)?.length ?? 0) > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError("too_long", "payload too long");
  }
  return value;
}
