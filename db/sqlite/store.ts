/**
 * The SQLite engine of the storage interface (db/store.ts): `chat.db`
 * through node:sqlite, the zero-setup default for one node. Every call runs
 * synchronously and returns a settled promise, so the single-node path pays
 * no more than a microtask for being async. Prepared statements only: no
 * value from the network is ever spliced into SQL.
 */

import { backup as backupDatabase, type DatabaseSync, type StatementSync } from "node:sqlite";
import { MemoryRoster } from "../memory_roster.ts";
import type {
  NewMessage,
  NewUser,
  Roster,
  Store,
  StoredMessage,
  StoredUser,
  UserKeys,
  UserSummary,
} from "../store.ts";
import { openDatabase } from "./database.ts";
import { nameSkeleton } from "../../protocol/names.ts";

interface UserRow {
  id: number;
  name: string;
  public_key: Uint8Array;
}

interface KeysRow {
  name: string;
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

/** How long last-seen times gather before one transaction writes them (recordSeen). */
const SEEN_WRITE_MS = 1_000;

const MESSAGE_COLUMNS =
  `SELECT m.id, m.time, s.name AS sender, r.name AS recipient, m.body, m.signature
       FROM messages m
       JOIN users s ON s.id = m.sender_id
       LEFT JOIN users r ON r.id = m.recipient_id`;

/** A sender's message by its cid: one probe of the cid index (migration 7), whatever others stored under it. */
export const FIND_BY_CLIENT_ID_SQL =
  `${MESSAGE_COLUMNS} WHERE m.client_id = ? AND m.sender_id = ? ORDER BY m.id LIMIT 1`;

/**
 * A user by name: one probe of the name's unique index (its collation is
 * NOCASE, so the comparison must be too: `COLLATE BINARY` here made SQLite
 * scan the table, 8 ms a miss at 20,000 users). The exact case is checked
 * on the row. db/sqlite/store_test.ts reads the query plan.
 */
export const FIND_USER_SQL = `SELECT id, name, public_key FROM users WHERE name = ?`;

/** A user's published keys by name, the same way (one probe of the name index). */
export const FIND_KEYS_SQL =
  `SELECT name, certificate, encryption_key, key_binding FROM users WHERE name = ?`;

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #insertUser: StatementSync;
  readonly #findUser: StatementSync;
  readonly #findKeys: StatementSync;
  readonly #insertMessage: StatementSync;
  readonly #historyPage: StatementSync;
  readonly #messagesAfter: StatementSync;
  readonly #lastMessageId: StatementSync;
  readonly #nthNewest: StatementSync;
  readonly #countHistory: StatementSync;
  readonly #findByClientId: StatementSync;
  readonly #listUsers: StatementSync;
  readonly #recordSeen: StatementSync;
  /** Last-seen times not yet written, by user id, and the batch that will write them. */
  readonly #seen = new Map<number, number>();
  #seenBatch: PromiseWithResolvers<void> & { timer: ReturnType<typeof setTimeout> } | null = null;
  readonly #setBanned: StatementSync;
  readonly #bannedNames: StatementSync;
  /**
   * Users by exact name. A user row never changes once written, so this
   * read-through cache cannot go stale; it spares a query per private message.
   */
  readonly #users = new Map<string, StoredUser>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insertUser = db.prepare(
      `INSERT INTO users
         (name, skeleton, public_key, certificate, encryption_key, key_binding, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.#findUser = db.prepare(FIND_USER_SQL);
    this.#findKeys = db.prepare(FIND_KEYS_SQL);
    this.#insertMessage = db.prepare(
      `INSERT INTO messages (time, sender_id, recipient_id, body, signature, client_id)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#historyPage = db.prepare(
      `${MESSAGE_COLUMNS}
       WHERE m.id > ? AND m.id <= ?
         AND (m.recipient_id IS NULL OR m.recipient_id = ? OR m.sender_id = ?)
       ORDER BY m.id
       LIMIT ?`,
    );
    this.#messagesAfter = db.prepare(`${MESSAGE_COLUMNS} WHERE m.id > ? ORDER BY m.id LIMIT ?`);
    this.#lastMessageId = db.prepare("SELECT coalesce(max(id), 0) AS id FROM messages");
    this.#nthNewest = db.prepare(
      `SELECT id FROM messages
       WHERE id > ? AND id <= ? AND (recipient_id IS NULL OR recipient_id = ? OR sender_id = ?)
       ORDER BY id DESC LIMIT 1 OFFSET ?`,
    );
    this.#countHistory = db.prepare(
      `SELECT count(*) AS n FROM messages
       WHERE id > ? AND id < ? AND (recipient_id IS NULL OR recipient_id = ? OR sender_id = ?)`,
    );
    this.#listUsers = db.prepare(
      `SELECT name, created_at, last_seen, banned_at FROM users ORDER BY name COLLATE NOCASE, name`,
    );
    this.#recordSeen = db.prepare("UPDATE users SET last_seen = ? WHERE id = ?");
    this.#setBanned = db.prepare("UPDATE users SET banned_at = ? WHERE name = ? COLLATE BINARY");
    this.#bannedNames = db.prepare("SELECT name FROM users WHERE banned_at IS NOT NULL");
    this.#findByClientId = db.prepare(FIND_BY_CLIENT_ID_SQL);
  }

  /** Opens (creating and migrating) the database file at `path`; ":memory:" for tests. */
  static open(path: string): SqliteStore {
    return new SqliteStore(openDatabase(path));
  }

  createUser(name: string, user: NewUser, time: number): Promise<StoredUser | null> {
    const result = this.#insertUser.run(
      name,
      nameSkeleton(name),
      user.publicKey,
      user.certificate,
      user.encryptionKey,
      user.keyBinding,
      time,
    );
    if (result.changes === 0) return Promise.resolve(null);
    return Promise.resolve({ id: Number(result.lastInsertRowid), name, publicKey: user.publicKey });
  }

  findUser(name: string): Promise<StoredUser | null> {
    return Promise.resolve(this.findUserNow(name));
  }

  /** findUser() without the promise, for tools that fill a database directly. */
  findUserNow(name: string): StoredUser | null {
    const cached = this.#users.get(name);
    if (cached !== undefined) return cached;
    const row = this.#findUser.get(name) as UserRow | undefined;
    // The index matches in any case; a user is found by exactly their name.
    if (row === undefined || row.name !== name) return null;
    const user: StoredUser = { id: row.id, name: row.name, publicKey: row.public_key };
    if (this.#users.size >= MAX_CACHED_USERS) this.#users.clear();
    this.#users.set(name, user);
    return user;
  }

  findKeys(name: string): Promise<UserKeys | null> {
    const row = this.#findKeys.get(name) as KeysRow | undefined;
    if (row === undefined || row.name !== name) return Promise.resolve(null);
    return Promise.resolve({
      certificate: row.certificate,
      // Absent only for users registered before migration 2.
      encryptionKey: row.encryption_key ?? new Uint8Array(),
      keyBinding: row.key_binding ?? new Uint8Array(),
    });
  }

  /**
   * One transaction for the batch: one commit for many messages, which is
   * what a commit costs (measured: 40 us each when committed one by one).
   * One writer (this process) and INTEGER PRIMARY KEY ids: ids are gap-free
   * and in commit order.
   */
  appendMessages(messages: readonly NewMessage[]): Promise<StoredMessage[]> {
    try {
      return Promise.resolve(this.appendMessagesNow(messages));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** appendMessages() without the promise, for tools that fill a database directly. */
  appendMessagesNow(messages: readonly NewMessage[]): StoredMessage[] {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const stored = messages.map((m) => this.#insert(m));
      this.#db.exec("COMMIT");
      return stored;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #insert({ sender, recipient, body, signature, time, clientId }: NewMessage): StoredMessage {
    const result = this.#insertMessage.run(
      time,
      sender.id,
      recipient?.id ?? null,
      body,
      signature,
      clientId ?? null,
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

  findByClientId(sender: StoredUser, clientId: string): Promise<StoredMessage | null> {
    const row = this.#findByClientId.get(clientId, sender.id);
    return Promise.resolve(row === undefined ? null : toMessages([row])[0]);
  }

  listUsers(): Promise<UserSummary[]> {
    const rows = this.#listUsers.all() as Array<
      { name: string; created_at: number; last_seen: number | null; banned_at: number | null }
    >;
    return Promise.resolve(rows.map((row) => ({
      name: row.name,
      registeredAt: row.created_at,
      lastSeen: row.last_seen,
      bannedAt: row.banned_at,
    })));
  }

  /**
   * Written with the others of the same second, in one transaction (issue
   * 12: each login and logout paid a commit of its own for it). Settles once
   * written; `chat server users` may lag by that second.
   */
  recordSeen(user: StoredUser, time: number): Promise<void> {
    // Sessions that end as the server stops may come after close().
    if (!this.#db.isOpen) return Promise.resolve();
    this.#seen.set(user.id, time);
    let batch = this.#seenBatch;
    if (batch === null) {
      // close() writes what is pending and clears the timer.
      const timer = setTimeout(() => this.#writeSeen(), SEEN_WRITE_MS);
      batch = this.#seenBatch = { ...Promise.withResolvers<void>(), timer };
    }
    return batch.promise;
  }

  #writeSeen(): void {
    const batch = this.#seenBatch;
    if (batch === null) return;
    clearTimeout(batch.timer);
    this.#seenBatch = null;
    const seen = [...this.#seen];
    this.#seen.clear();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      for (const [id, time] of seen) this.#recordSeen.run(time, id);
      this.#db.exec("COMMIT");
      batch.resolve();
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      batch.reject(error);
    }
  }

  setBanned(name: string, time: number | null): Promise<boolean> {
    return Promise.resolve(this.#setBanned.run(time, name).changes > 0);
  }

  bannedNames(): Promise<string[]> {
    return Promise.resolve((this.#bannedNames.all() as Array<{ name: string }>).map((r) => r.name));
  }

  async backup(path: string): Promise<void> {
    // SQLite's online backup (https://www.sqlite.org/backup.html), all pages
    // in one step: a snapshot of every commit so far, what is still in the
    // WAL included. (VACUUM INTO needs ATTACH, which Deno's node:sqlite
    // disables.) Callers check first that `path` does not exist.
    await backupDatabase(this.#db, path, { rate: -1 });
  }

  lastMessageId(): Promise<number> {
    return Promise.resolve((this.#lastMessageId.get() as { id: number }).id);
  }

  historyPage(
    user: StoredUser,
    afterId: number,
    upToId: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    // An empty range (a login with no history, or none since the last):
    // no query, which costs ~20 us even then.
    if (afterId >= upToId) return Promise.resolve([]);
    return Promise.resolve(
      toMessages(this.#historyPage.all(afterId, upToId, user.id, user.id, limit)),
    );
  }

  historyWindow(
    user: StoredUser,
    afterId: number,
    upToId: number,
    last: number,
  ): Promise<{ afterId: number; earlier: number }> {
    const row = this.#nthNewest.get(afterId, upToId, user.id, user.id, last - 1) as
      | { id: number }
      | undefined;
    if (row === undefined) return Promise.resolve({ afterId, earlier: 0 });
    const { n } = this.#countHistory.get(afterId, row.id, user.id, user.id) as { n: number };
    return Promise.resolve({ afterId: row.id - 1, earlier: n });
  }

  messagesAfter(afterId: number, limit: number): Promise<StoredMessage[]> {
    return Promise.resolve(toMessages(this.#messagesAfter.all(afterId, limit)));
  }

  /** One process per SQLite file: the roster is this process's memory. */
  openRoster(_node: string): Promise<Roster> {
    return Promise.resolve(new MemoryRoster());
  }

  close(): Promise<void> {
    if (this.#db.isOpen) {
      this.#writeSeen();
      this.#db.close();
    }
    return Promise.resolve();
  }
}

function toMessages(rows: unknown[]): StoredMessage[] {
  return rows.map((row) => {
    const { id, time, sender, recipient, body, signature } = row as MessageRow;
    return { id, time, from: sender, to: recipient, body, signature };
  });
}
