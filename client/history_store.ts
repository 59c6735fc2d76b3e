/**
 * The client's store of verified messages, `clientkeys/ME/history`: the
 * most recent messages of the user's history as they were shown after their
 * checks (signature, decryption, pins), so a later login asks the server only
 * for what came after the newest one and verifies only that (SPEC section 2,
 * "History"; protocol/README.md, "History").
 *
 * The file is AES-256-GCM under a key derived (HKDF-SHA256) from the user's
 * two private keys, with the format tag and the user's name as associated
 * data. When the key has a password (key.age), the store is as unreadable
 * as the key: reading the disk gives neither. Without a password the key is
 * plain on disk beside it, so the encryption only detects damage and
 * tampering by whoever cannot read the key. A file that does not decrypt,
 * does not parse or breaks an invariant is discarded and rebuilt from the
 * server, never trusted and never a crash.
 *
 * Written whole to a temporary file and renamed, so a crash leaves the old
 * store or the new one.
 */

import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import { dirname, join } from "node:path";
import { assertNoSymlinkBelow } from "../cli/files.ts";
import { isValidName } from "../protocol/names.ts";
import type { Credentials } from "./connection.ts";

const STORE_FILE = "history";
const FORMAT = "chat-history/v1\n";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** A bigger file is not a store this client wrote (10,000 messages of 2,000 characters fit). */
export const MAX_STORE_BYTES = 64 * 1024 * 1024;

/** A message as it was shown once verified: enough to show it again. */
export interface StoredMessage {
  /** The server's message id. */
  id: number;
  type: "public" | "private";
  from: string;
  /** The recipient of a private message. */
  to?: string;
  /** The server's time, ms. */
  time: number;
  /** The sender's signed time, ms (a skew is flagged again when shown). */
  signed: number;
  /** The sender's unique message id (replays of it are flagged). */
  mid: string;
  /** The verified text. */
  text: string;
}

export interface StoredHistory {
  /** How many of the user's messages precede the first one stored. */
  earlier: number;
  /** Oldest first, ids increasing. */
  messages: StoredMessage[];
}

export class HistoryStore {
  readonly #path: string;
  readonly #aad: Uint8Array;
  readonly #key: Uint8Array;

  /** `folder` is the user's own folder, `clientkeys/ME`. */
  constructor(folder: string, name: string, credentials: Credentials) {
    this.#path = join(folder, STORE_FILE);
    this.#aad = new TextEncoder().encode(FORMAT + name);
    this.#key = storeKey(credentials);
  }

  get path(): string {
    return this.#path;
  }

  /** The stored history; null when there is none or it was discarded. */
  async load(): Promise<StoredHistory | null> {
    assertNoSymlinkBelow(dirname(dirname(this.#path)), this.#path);
    let bytes: Uint8Array;
    try {
      const info = await Deno.stat(this.#path);
      if (!info.isFile || info.size > MAX_STORE_BYTES) return await this.discard();
      bytes = await Deno.readFile(this.#path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      return await this.discard();
    }
    const history = this.#open(bytes);
    return history ?? await this.discard();
  }

  /** Replaces the store with `history`; a failure to write only costs the next login time. */
  async save(history: StoredHistory): Promise<void> {
    const folder = dirname(this.#path);
    assertNoSymlinkBelow(dirname(folder), this.#path);
    const temporary = join(folder, `.${STORE_FILE}.${crypto.randomUUID()}`);
    try {
      await Deno.writeFile(temporary, this.#seal(history), { createNew: true, mode: 0o600 });
      await Deno.rename(temporary, this.#path);
    } catch {
      await Deno.remove(temporary).catch(() => {});
    }
  }

  /** Removes the store (damaged, or no longer consistent); returns null. */
  async discard(): Promise<null> {
    await Deno.remove(this.#path).catch(() => {});
    return null;
  }

  #seal(history: StoredHistory): Uint8Array {
    const rows = history.messages.map((m) => [
      m.id,
      m.type,
      m.from,
      m.to ?? null,
      m.time,
      m.signed,
      m.mid,
      m.text,
    ]);
    const plain = Buffer.from(JSON.stringify({ earlier: history.earlier, rows }));
    const nonce = nodeCrypto.randomBytes(NONCE_BYTES);
    const cipher = nodeCrypto.createCipheriv("aes-256-gcm", this.#key, nonce);
    cipher.setAAD(this.#aad);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return new Uint8Array(Buffer.concat([Buffer.from(FORMAT), nonce, sealed]));
  }

  #open(bytes: Uint8Array): StoredHistory | null {
    const head = FORMAT.length;
    if (bytes.length < head + NONCE_BYTES + TAG_BYTES) return null;
    if (new TextDecoder().decode(bytes.subarray(0, head)) !== FORMAT) return null;
    const nonce = bytes.subarray(head, head + NONCE_BYTES);
    const body = bytes.subarray(head + NONCE_BYTES, bytes.length - TAG_BYTES);
    let plain: string;
    try {
      const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", this.#key, nonce);
      decipher.setAAD(this.#aad);
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch {
      return null;
    }
    try {
      return parseHistory(JSON.parse(plain));
    } catch {
      return null;
    }
  }
}

/** The store's key: HKDF-SHA256 of the user's two private keys (PKCS#8 DER). */
function storeKey(credentials: Credentials): Uint8Array {
  const der = (pem: string) =>
    nodeCrypto.createPrivateKey(pem).export({ format: "der", type: "pkcs8" }) as Buffer;
  const secret = Buffer.concat([der(credentials.key), der(credentials.encryptionKey)]);
  return new Uint8Array(
    nodeCrypto.hkdfSync("sha256", secret, "chat/history-store", FORMAT, 32),
  );
}

/** The decrypted store, checked field by field; null when anything is off. */
function parseHistory(value: unknown): StoredHistory | null {
  if (typeof value !== "object" || value === null) return null;
  const { earlier, rows } = value as { earlier?: unknown; rows?: unknown };
  if (!isCount(earlier) || !Array.isArray(rows)) return null;
  const messages: StoredMessage[] = [];
  let previous = 0;
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 8) return null;
    const [id, type, from, to, time, signed, mid, text] = row;
    if (!isCount(id) || id <= previous) return null;
    if (type !== "public" && type !== "private") return null;
    if (typeof from !== "string" || !isValidName(from)) return null;
    if (type === "private" ? typeof to !== "string" || !isValidName(to) : to !== null) return null;
    if (!Number.isFinite(time) || !Number.isFinite(signed)) return null;
    if (typeof mid !== "string" || typeof text !== "string") return null;
    const message: StoredMessage = { id, type, from, time, signed, mid, text };
    if (type === "private") message.to = to;
    messages.push(message);
    previous = id;
  }
  return { earlier, messages };
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
