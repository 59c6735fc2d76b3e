/**
 * Typed storage for the server: users and messages. This is the only API
 * the rest of the program sees; nothing outside db/ writes SQL (SPEC section
 * 7: another engine can stand behind these functions). Prepared statements
 * only: no value from the network is ever spliced into SQL.
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openDatabase } from "./database.ts";

export interface StoredUser {
  id: number;
  name: string;
  /** DER SubjectPublicKeyInfo pinned at registration. */
  publicKey: Uint8Array;
  /** DER certificate presented at registration. */
  certificate: Uint8Array;
  /** DER SubjectPublicKeyInfo of the X25519 key, and its binding signature (opaque here). */
  encryptionKey: Uint8Array;
  keyBinding: Uint8Array;
}

/** A message to store: who sent it to whom (null: everyone), what, when. */
export interface NewMessage {
  sender: StoredUser;
  recipient: StoredUser | null;
  body: string;
  signature: string | null;
  time: number;
}

/** What a registration stores besides the name. */
export type NewUser = Omit<StoredUser, "id" | "name">;

export interface StoredMessage {
  id: number;
  /** Milliseconds since the Unix epoch, UTC. */
  time: number;
  from: string;
  /** null for a public message. */
  to: string | null;
  /** Public text, or a private message's opaque payload. */
  body: string;
  /** A public message's signature envelope, as sent; null for a private one. */
  signature: string | null;
}

interface UserRow {
  id: number;
  name: string;
  public_key: Uint8Array;
  certificate: Uint8Array;
  encryption_key: Uint8Array | null;
  key_binding: Uint8Array | null;
}

interface MessageRow {
  id: number;
  time: number;
  sender: string;
  recipient: string | null;
  body: string;
  signature: string | null;
}

/** Users kept in memory; past this the cache starts over (it is only a cache). */
const MAX_CACHED_USERS = 10_000;

export class ChatStore {
  readonly #db: DatabaseSync;
  readonly #insertUser: StatementSync;
  readonly #findUser: StatementSync;
  readonly #insertMessage: StatementSync;
  readonly #historyPage: StatementSync;
  readonly #lastMessageId: StatementSync;
  /**
   * Users by exact name. A user row never changes once written, so this
   * read-through cache cannot go stale; it spares a query per private message.
   */
  readonly #users = new Map<string, StoredUser>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insertUser = db.prepare(
      `INSERT INTO users (name, public_key, certificate, encryption_key, key_binding, created_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.#findUser = db.prepare(
      `SELECT id, name, public_key, certificate, encryption_key, key_binding FROM users
       WHERE name = ? COLLATE BINARY`,
    );
    this.#insertMessage = db.prepare(
      `INSERT INTO messages (time, sender_id, recipient_id, body, signature)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.#historyPage = db.prepare(
      `SELECT m.id, m.time, s.name AS sender, r.name AS recipient, m.body, m.signature
       FROM messages m
       JOIN users s ON s.id = m.sender_id
       LEFT JOIN users r ON r.id = m.recipient_id
       WHERE m.id > ? AND m.id <= ?
         AND (m.recipient_id IS NULL OR m.recipient_id = ? OR m.sender_id = ?)
       ORDER BY m.id
       LIMIT ?`,
    );
    this.#lastMessageId = db.prepare("SELECT coalesce(max(id), 0) AS id FROM messages");
  }

  static open(path: string): ChatStore {
    return new ChatStore(openDatabase(path));
  }

  /** Adds a user; null when the name (in any case) is taken. */
  createUser(name: string, user: NewUser, time: number): StoredUser | null {
    const result = this.#insertUser.run(
      name,
      user.publicKey,
      user.certificate,
      user.encryptionKey,
      user.keyBinding,
      time,
    );
    if (result.changes === 0) return null;
    return { id: Number(result.lastInsertRowid), name, ...user };
  }

  findUser(name: string): StoredUser | null {
    const cached = this.#users.get(name);
    if (cached !== undefined) return cached;
    const row = this.#findUser.get(name) as UserRow | undefined;
    if (row === undefined) return null;
    const user: StoredUser = {
      id: row.id,
      name: row.name,
      publicKey: row.public_key,
      certificate: row.certificate,
      // Absent only for users registered before migration 2.
      encryptionKey: row.encryption_key ?? new Uint8Array(),
      keyBinding: row.key_binding ?? new Uint8Array(),
    };
    if (this.#users.size >= MAX_CACHED_USERS) this.#users.clear();
    this.#users.set(name, user);
    return user;
  }

  /**
   * Stores messages in one transaction: one commit for many messages, which
   * is what a commit costs (measured: 40 us each when committed one by one).
   * All are committed when this returns, or none (it throws).
   */
  appendMessages(messages: readonly NewMessage[]): StoredMessage[] {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const stored = messages.map((m) =>
        this.appendMessage(m.sender, m.recipient, m.body, m.signature, m.time)
      );
      this.#db.exec("COMMIT");
      return stored;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Stores a message; it is committed when this returns (outside appendMessages). */
  appendMessage(
    sender: StoredUser,
    recipient: StoredUser | null,
    body: string,
    signature: string | null,
    time: number,
  ): StoredMessage {
    const result = this.#insertMessage.run(
      time,
      sender.id,
      recipient?.id ?? null,
      body,
      signature,
    );
    return {
      id: Number(result.lastInsertRowid),
      time,
      from: sender.name,
      to: recipient?.name ?? null,
      body,
      signature,
    };
  }

  /** The id of the newest message: history up to it is a stable snapshot. */
  lastMessageId(): number {
    return (this.#lastMessageId.get() as { id: number }).id;
  }

  /**
   * One page of `user`'s history, oldest first: every public message and
   * every private one they sent or received, with `afterId < id <= upToId`.
   * Pages are keyed by id, so no read transaction stays open between them.
   */
  historyPage(
    user: StoredUser,
    afterId: number,
    upToId: number,
    limit: number,
  ): StoredMessage[] {
    const rows = this.#historyPage.all(afterId, upToId, user.id, user.id, limit);
    return rows.map((row) => {
      const { id, time, sender, recipient, body, signature } = row as unknown as MessageRow;
      return { id, time, from: sender, to: recipient, body, signature };
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
