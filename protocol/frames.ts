/**
 * The frames of protocol version 1 (protocol/README.md): their types, their
 * encoding, and strict decoders for each direction. Decoders take the bytes
 * of one line and return a typed frame or throw ProtocolError; they never
 * trust a field's type, size or shape.
 */

import { fromBase64Url } from "./base64url.ts";
import {
  ENCRYPTION_KEY_BYTES,
  MAX_CERTIFICATE_BYTES,
  MAX_MESSAGE_CHARS,
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
] as const;
export type ErrorCode = typeof ERROR_CODES[number];

export type ClientFrame =
  | { type: "hello"; versions: number[] }
  | RegisterRequest
  | { type: "login"; id: number; name: string }
  | { type: "users"; id: number }
  | { type: "keys"; id: number; name: string }
  | { type: "ping"; id: number }
  | { type: "public"; id: number; text: string; signature: string }
  | { type: "private"; id: number; to: string; payload: string }
  | { type: "exit" };

export interface RegisterRequest {
  type: "register";
  id: number;
  name: string;
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

export type ServerFrame =
  | { type: "hello"; version: number }
  | { type: "ok"; re: number; status: "registered" | "authenticated" }
  | { type: "error"; re?: number; code: ErrorCode }
  | { type: "users"; re: number; names: string[] }
  | KeysReply
  | PublicMessage
  | PrivateMessage
  | { type: "history_end"; re: number }
  | { type: "pong"; re: number };

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
      };
    case "login":
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
      };
    case "private":
      return {
        type: "private",
        id: requestId(object.id),
        to: userName(object.to),
        payload: payload(object.payload),
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
      if (!Array.isArray(names) || names.length > 100_000) {
        throw new ProtocolError("malformed", "bad user list");
      }
      return { type: "users", re: requestId(object.re), names: names.map(userName) };
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
        text: messageText(object.text),
        signature: signature(object.signature),
      };
    case "private":
      return {
        type: "private",
        ...optionalRe(object.re),
        id: positiveInteger(object.id),
        time: timestamp(object.time),
        from: userName(object.from),
        to: userName(object.to),
        payload: payload(object.payload),
      };
    case "history_end":
    case "pong":
      return { type: object.type, re: requestId(object.re) };
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

function messageText(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ProtocolError("invalid_format", "bad message text");
  }
  if (messageLength(value) > MAX_MESSAGE_CHARS) {
    throw new ProtocolError("too_long", "message too long");
  }
  return value;
}

function signature(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ProtocolError("invalid_format", "bad signature");
  }
  if (value.length > MAX_SIGNATURE_CHARS) throw new ProtocolError("too_long", "signature too long");
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

function payload(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ProtocolError("invalid_format", "bad payload");
  }
  // A JS string's UTF-8 length is at most 3 bytes per UTF-16 unit.
  if (
    value.length * 3 > MAX_PAYLOAD_BYTES && encoder.encode(value).byteLength > MAX_PAYLOAD_BYTES
  ) {
    throw new ProtocolError("too_long", "payload too long");
  }
  return value;
}
