/**
 * The PostgreSQL engine of the storage interface (db/store.ts), for several
 * server nodes on one database (SPEC section 7). Values are always bound
 * parameters of prepared statements, never spliced into SQL.
 *
 * Message ids come from the single row of `message_counter`, bumped in the
 * same statement (and so the same transaction) that inserts the batch: the
 * row lock orders committers, so ids are gap-free and visible in order, which
 * a bigserial is not (a later id can commit first). One statement per batch
 * is one round trip and one commit (group commit: server/committer.ts).
 */

import { nameSkeleton } from "../../protocol/names.ts";
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
import { bytes, connectPostgres, type Row, type Sql } from "./driver.ts";
import { MIGRATION_LOCK, MIGRATIONS } from "./migrations.ts";
import { PostgresRoster } from "./roster.ts";

/** Connections per node: one commits while others read history and look names up. */
const POOL_SIZE = 6;
/** Users kept in memory; past this the cache starts over (it is only a cache). */
const MAX_CACHED_USERS = 10_000;

const MESSAGE_COLUMNS =
  `SELECT m.id, m.time, s.name AS sender, r.name AS recipient, m.body, m.signature
       FROM messages m
       JOIN users s ON s.id = m.sender_id
       LEFT JOIN users r ON r.id = m.recipient_id`;

const APPEND = `
  WITH counter AS (
    UPDATE message_counter SET last = last + $1 RETURNING last - $1 AS base
  )
  INSERT INTO messages (id, time, sender_id, recipient_id, body, signature, client_id)
  SELECT counter.base + m.n, m.time, m.sender_id, m.recipient_id, m.body, m.signature, m.client_id
  FROM counter,
       unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[])
         WITH ORDINALITY AS m (time, sender_id, recipient_id, body, signature, client_id, n)
  RETURNING id`;

export class PostgresStore implements Store {
  readonly sql: Sql;
  readonly #users = new Map<string, StoredUser>();

  private constructor(sql: Sql) {
    this.sql = sql;
  }

  /** Connects and brings the schema up to date (under an advisory lock). */
  static async open(url: string, node = "chat"): Promise<PostgresStore> {
    const sql = await connectPostgres(url, { max: POOL_SIZE, applicationName: node });
    try {
      await migrate(sql);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw error;
    }
    return new PostgresStore(sql);
  }

  async createUser(name: string, user: NewUser, time: number): Promise<StoredUser | null> {
    const rows = await this.sql.unsafe(
      `INSERT INTO users
         (name, skeleton, public_key, certificate, encryption_key, key_binding, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
      [
        name,
        nameSkeleton(name),
        user.publicKey,
        user.certificate,
        user.encryptionKey,
        user.keyBinding,
        time,
      ],
      { prepare: true },
    );
    if (rows.length === 0) return null;
    return { id: Number(rows[0].id), name, publicKey: user.publicKey };
  }

  async findUser(name: string): Promise<StoredUser | null> {
    const cached = this.#users.get(name);
    if (cached !== undefined) return cached;
    const rows = await this.sql.unsafe(
      "SELECT id, name, public_key FROM users WHERE name = $1",
      [name],
      { prepare: true },
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    const user: StoredUser = {
      id: Number(row.id),
      name: row.name as string,
      publicKey: bytes(row.public_key),
    };
    // A user row never changes once written: the cache cannot go stale.
    if (this.#users.size >= MAX_CACHED_USERS) this.#users.clear();
    this.#users.set(name, user);
    return user;
  }

  async findKeys(name: string): Promise<UserKeys | null> {
    const rows = await this.sql.unsafe(
      "SELECT certificate, encryption_key, key_binding FROM users WHERE name = $1",
      [name],
      { prepare: true },
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    return {
      certificate: bytes(row.certificate),
      encryptionKey: bytes(row.encryption_key),
      keyBinding: bytes(row.key_binding),
    };
  }

  async appendMessages(messages: readonly NewMessage[]): Promise<StoredMessage[]> {
    if (messages.length === 0) return [];
    const rows = await this.sql.unsafe(APPEND, [
      messages.length,
      messages.map((m) => m.time),
      messages.map((m) => m.sender.id),
      messages.map((m) => m.recipient?.id ?? null),
      messages.map((m) => m.body),
      messages.map((m) => m.signature),
      messages.map((m) => m.clientId ?? null),
    ], { prepare: true });
    let base = Infinity;
    for (const row of rows) base = Math.min(base, Number(row.id));
    return messages.map((m, i) => ({
      id: base + i,
      time: m.time,
      from: m.sender.name,
      to: m.recipient?.name ?? null,
      body: m.body,
      signature: m.signature,
    }));
  }

  async findByClientId(sender: StoredUser, clientId: string): Promise<StoredMessage | null> {
    const rows = await this.sql.unsafe(
      `${MESSAGE_COLUMNS} WHERE m.client_id = $1 AND m.sender_id = $2 ORDER BY m.id LIMIT 1`,
      [clientId, sender.id],
      { prepare: true },
    );
    return rows.length === 0 ? null : toMessage(rows[0]);
  }

  async listUsers(): Promise<UserSummary[]> {
    const rows = await this.sql.unsafe(
      `SELECT name, created_at, last_seen, banned_at FROM users ORDER BY lower(name), name`,
    );
    return rows.map((row) => ({
      name: row.name as string,
      registeredAt: Number(row.created_at),
      lastSeen: row.last_seen === null ? null : Number(row.last_seen),
      bannedAt: row.banned_at === null ? null : Number(row.banned_at),
    }));
  }

  async recordSeen(user: StoredUser, time: number): Promise<void> {
    await this.sql.unsafe("UPDATE users SET last_seen = $1 WHERE id = $2", [time, user.id], {
      prepare: true,
    });
  }

  async setBanned(name: string, time: number | null): Promise<boolean> {
    const rows = await this.sql.unsafe(
      "UPDATE users SET banned_at = $1 WHERE name = $2 RETURNING id",
      [time, name],
    );
    return rows.length > 0;
  }

  async bannedNames(): Promise<string[]> {
    const rows = await this.sql.unsafe(
      "SELECT name FROM users WHERE banned_at IS NOT NULL",
      [],
      { prepare: true },
    );
    return rows.map((row) => row.name as string);
  }

  backup(_path: string): Promise<void> {
    // The database is PostgreSQL's to copy: its own tools take a consistent snapshot.
    return Promise.reject(
      new Error("the database is PostgreSQL: back it up with pg_dump (see README, Deployment)"),
    );
  }

  async lastMessageId(): Promise<number> {
    const rows = await this.sql.unsafe("SELECT last FROM message_counter", [], { prepare: true });
    return Number(rows[0].last);
  }

  async historyPage(
    user: StoredUser,
    afterId: number,
    upToId: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    if (afterId >= upToId) return []; // an empty range: no round trip
    const rows = await this.sql.unsafe(
      `${MESSAGE_COLUMNS}
       WHERE m.id > $1 AND m.id <= $2
         AND (m.recipient_id IS NULL OR m.recipient_id = $3 OR m.sender_id = $3)
       ORDER BY m.id
       LIMIT $4`,
      [afterId, upToId, user.id, limit],
      { prepare: true },
    );
    return rows.map(toMessage);
  }

  async historyWindow(
    user: StoredUser,
    afterId: number,
    upToId: number,
    last: number,
  ): Promise<{ afterId: number; earlier: number }> {
    const visible = "(recipient_id IS NULL OR recipient_id = $3 OR sender_id = $3)";
    const start = await this.sql.unsafe(
      `SELECT id FROM messages WHERE id > $1 AND id <= $2 AND ${visible}
       ORDER BY id DESC LIMIT 1 OFFSET $4`,
      [afterId, upToId, user.id, last - 1],
      { prepare: true },
    );
    if (start.length === 0) return { afterId, earlier: 0 };
    const first = Number(start[0].id);
    const counted = await this.sql.unsafe(
      `SELECT count(*) AS n FROM messages WHERE id > $1 AND id < $2 AND ${visible}`,
      [afterId, first, user.id],
      { prepare: true },
    );
    return { afterId: first - 1, earlier: Number(counted[0].n) };
  }

  async messagesAfter(afterId: number, limit: number): Promise<StoredMessage[]> {
    const rows = await this.sql.unsafe(
      `${MESSAGE_COLUMNS} WHERE m.id > $1 ORDER BY m.id LIMIT $2`,
      [afterId, limit],
      { prepare: true },
    );
    return rows.map(toMessage);
  }

  openRoster(node: string): Promise<Roster> {
    return PostgresRoster.open(this.sql, node);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

function toMessage(row: Row): StoredMessage {
  return {
    id: Number(row.id),
    time: Number(row.time),
    from: row.sender as string,
    to: row.recipient as string | null,
    body: row.body as string,
    signature: row.signature as string | null,
  };
}

async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.unsafe(
      "CREATE TABLE IF NOT EXISTS schema_version (single boolean PRIMARY KEY, version integer NOT NULL)",
    );
    const rows = await tx.unsafe("SELECT version FROM schema_version");
    const current = rows.length === 0 ? 0 : Number(rows[0].version);
    if (current > MIGRATIONS.length) {
      throw new Error(
        `database schema version ${current} is newer than this program (${MIGRATIONS.length})`,
      );
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await tx.unsafe(MIGRATIONS[version - 1]);
    }
    await tx.unsafe(
      `INSERT INTO schema_version VALUES (true, $1)
       ON CONFLICT (single) DO UPDATE SET version = EXCLUDED.version`,
      [MIGRATIONS.length],
    );
  });
}
