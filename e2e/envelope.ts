/**
 * Envelopes of version 1 (e2e/README.md): sealing and opening private
 * messages, signing and verifying public ones. Opening checks everything
 * before returning any text; every failure is a VerificationError whose
 * message says little on purpose, and the caller adds who and what.
 *
 * An envelope travels in its compact form (protocol version 2): its fields
 * in a fixed order joined by ".", without the names its frame already
 * carries. The JSON form of protocol version 1 still opens, for messages
 * stored before.
 */

import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import { fromBase64Url, labelled, toBase64Url } from "./encoding.ts";
import type { OwnKeys, Peer } from "./keys.ts";

export const ENVELOPE_VERSION = 1;
const PRIVATE_LABEL = "chat/e2e/v1/private";
const PUBLIC_LABEL = "chat/e2e/v1/public";
const MID_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SIGNATURE_BYTES = 64;
/** Far more than any message the protocol carries; bounds the work on hostile input. */
const MAX_ENVELOPE_CHARS = 64 * 1024;

export class VerificationError extends Error {
  override name = "VerificationError";
}

/** What a verified message says, beyond what the server said. */
export interface Verified {
  /** The sender's unique message id. */
  mid: string;
  /** The sender's own timestamp, ms since the epoch. */
  time: number;
  text: string;
}

/**
 * For a message whose exact bytes this reader already verified under the
 * same pinned key (client/verified_cache.ts): skip the signature check. A
 * private message is still decrypted and so authenticated by its pair key.
 */
export interface OpenOptions {
  signatureAlreadyVerified?: boolean;
}

/** Options for tests and vectors; normally everything is fresh and random. */
export interface SealOptions {
  mid?: Uint8Array;
  nonce?: Uint8Array;
  time?: number;
}

/**
 * Encrypts `text` from `sender` to `recipient` under their pair key (so both
 * can open it) and signs the result with the sender's identity key.
 */
export function sealPrivateMessage(
  sender: OwnKeys,
  recipient: Peer,
  text: string,
  options: SealOptions = {},
): string {
  const mid = toBase64Url(options.mid ?? nodeCrypto.randomBytes(MID_BYTES));
  const time = options.time ?? Date.now();
  const nonce = options.nonce ?? nodeCrypto.randomBytes(NONCE_BYTES);
  const header = [ENVELOPE_VERSION, mid, sender.name, recipient.name, time];
  const cipher = nodeCrypto.createCipheriv("aes-256-gcm", sender.pairKey(recipient), nonce);
  cipher.setAAD(labelled(PRIVATE_LABEL, header));
  const ct = Buffer.concat([cipher.update(text, "utf8"), cipher.final(), cipher.getAuthTag()]);
  const nonceText = toBase64Url(nonce);
  const ctText = toBase64Url(ct);
  const sig = nodeCrypto.sign(
    null,
    labelled(PRIVATE_LABEL, [...header, nonceText, ctText]),
    sender.signer,
  );
  return [ENVELOPE_VERSION, mid, time, nonceText, ctText, toBase64Url(sig)].join(".");
}

/**
 * Opens a private envelope that the server says went from `from` to `to`.
 * `sender` is the sender's checked keys; `me` is the reader, who must be one
 * of the two parties, and `counterpart` the other one.
 */
export function openPrivateMessage(
  payload: string,
  route: { from: string; to: string },
  sender: Peer,
  me: OwnKeys,
  counterpart: Peer,
  options: OpenOptions = {},
): Verified {
  const envelope = parseEnvelope(payload, PRIVATE_FIELDS, route);
  const { mid, from, to, time } = envelope;
  const nonce = fromBase64Url(envelope.nonce, NONCE_BYTES);
  const ct = fromBase64Url(envelope.ct);
  const sig = fromBase64Url(envelope.sig, SIGNATURE_BYTES);
  if (
    typeof mid !== "string" || fromBase64Url(mid, MID_BYTES) === null ||
    typeof from !== "string" || typeof to !== "string" || !isTime(time) ||
    nonce === null || ct === null || ct.byteLength < TAG_BYTES || sig === null
  ) {
    throw new VerificationError("malformed envelope");
  }
  if (from !== route.from || to !== route.to || sender.name !== from) {
    throw new VerificationError("envelope names other parties than its delivery");
  }
  if (me.name !== from && me.name !== to) throw new VerificationError("not a party");
  if (counterpart.name !== (me.name === from ? to : from)) {
    throw new VerificationError("wrong counterpart");
  }
  const header = [ENVELOPE_VERSION, mid, from, to, time];
  if (!options.signatureAlreadyVerified) {
    const signed = labelled(PRIVATE_LABEL, [...header, envelope.nonce, envelope.ct]);
    if (!verifies(signed, sender, sig)) {
      throw new VerificationError("bad signature");
    }
  }
  try {
    const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", me.pairKey(counterpart), nonce, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(labelled(PRIVATE_LABEL, header));
    decipher.setAuthTag(ct.subarray(ct.byteLength - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(ct.subarray(0, ct.byteLength - TAG_BYTES)),
      decipher.final(),
    ]);
    return {
      mid,
      time,
      text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plain),
    };
  } catch {
    throw new VerificationError("cannot decrypt");
  }
}

/** The `signature` field of a public message: the sender's signature over its text. */
export function signPublicMessage(
  sender: OwnKeys,
  text: string,
  options: SealOptions = {},
): string {
  const mid = toBase64Url(options.mid ?? nodeCrypto.randomBytes(MID_BYTES));
  const time = options.time ?? Date.now();
  const signed = labelled(PUBLIC_LABEL, [ENVELOPE_VERSION, mid, sender.name, time, text]);
  const sig = nodeCrypto.sign(null, signed, sender.signer);
  return [ENVELOPE_VERSION, mid, time, toBase64Url(sig)].join(".");
}

/** Checks that `sender` signed `text` as a public message. */
export function verifyPublicMessage(
  signature: string,
  from: string,
  text: string,
  sender: Peer,
  options: OpenOptions = {},
): Verified {
  const envelope = parseEnvelope(signature, PUBLIC_FIELDS);
  const { mid, time } = envelope;
  const sig = fromBase64Url(envelope.sig, SIGNATURE_BYTES);
  if (
    typeof mid !== "string" || fromBase64Url(mid, MID_BYTES) === null || !isTime(time) ||
    sig === null
  ) {
    throw new VerificationError("malformed signature");
  }
  if (sender.name !== from) throw new VerificationError("signer is not the sender");
  if (!options.signatureAlreadyVerified) {
    const signed = labelled(PUBLIC_LABEL, [ENVELOPE_VERSION, mid, from, time, text]);
    if (!verifies(signed, sender, sig)) {
      throw new VerificationError("bad signature");
    }
  }
  return { mid, time, text };
}

/** An Ed25519 check that fails closed: a key the library cannot use verifies nothing. */
function verifies(signed: Uint8Array, sender: Peer, sig: Uint8Array): boolean {
  try {
    return nodeCrypto.verify(null, signed, sender.verifier, sig);
  } catch {
    return false;
  }
}

/** The fields of the compact forms, in their order. */
export const PRIVATE_FIELDS = ["v", "mid", "time", "nonce", "ct", "sig"] as const;
export const PUBLIC_FIELDS = ["v", "mid", "time", "sig"] as const;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/**
 * An envelope's fields, from its compact form or (stored under protocol
 * version 1) its JSON form. The compact form names no parties: a private
 * one takes them from `route`, what the server says, and the signature
 * covers them, so a wrong route fails the signature check.
 */
function parseEnvelope(
  text: string,
  order: readonly string[],
  route?: { from: string; to: string },
): Record<string, unknown> {
  if (text.length > MAX_ENVELOPE_CHARS) throw new VerificationError("envelope too large");
  if (!text.startsWith("{")) {
    const parts = text.split(".", order.length + 1);
    if (parts.length !== order.length) throw new VerificationError("malformed envelope");
    const envelope: Record<string, unknown> = { ...route };
    order.forEach((field, i) => envelope[field] = parts[i]);
    if (envelope.v !== String(ENVELOPE_VERSION)) {
      throw new VerificationError("unknown envelope version");
    }
    envelope.v = ENVELOPE_VERSION;
    const time = parts[order.indexOf("time")];
    if (!DECIMAL.test(time)) throw new VerificationError("malformed envelope");
    envelope.time = Number(time);
    return envelope;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VerificationError("malformed envelope");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VerificationError("malformed envelope");
  }
  const envelope = value as Record<string, unknown>;
  if (envelope.v !== ENVELOPE_VERSION) throw new VerificationError("unknown envelope version");
  return envelope;
}

/** The latest time a Date can hold (ms): a later one could not be shown. */
const MAX_TIME = 8.64e15;

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_TIME;
}
