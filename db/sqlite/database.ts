/**
 * Opens `chat.db` with node:sqlite (SPEC section 5) and brings its schema up
 * to date. Durability: WAL with synchronous=NORMAL survives a crash or
 * `kill -9` of the server (only a power loss can drop the last commits), per
 * https://www.sqlite.org/wal.html#performance_considerations.
 */

import { DatabaseSync } from "node:sqlite";
import { DATABASE_SIDE_FILES } from "../../pki/paths.ts";
import { MIGRATIONS } from "./migrations.ts";

/** Messages and keys are for the server's eyes: owner only (SQLite gives its side files the same). */
const DATABASE_MODE = 0o600;

/** How long a writer waits for a lock another process holds. */
const BUSY_TIMEOUT_MS = 5_000;

export class DatabaseError extends Error {
  override name = "DatabaseError";
}

export function openDatabase(path: string): DatabaseSync {
  if (path !== ":memory:") restrictDatabaseFiles(path);
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Creates the database file owner-only before SQLite does (SQLite would use
 * 0644 under the usual umask, and makes -wal and -shm with the database's
 * mode), and takes group and other access from files an older version made.
 */
function restrictDatabaseFiles(path: string): void {
  try {
    Deno.writeFileSync(path, new Uint8Array(), { createNew: true, mode: DATABASE_MODE });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  for (const file of [path, ...DATABASE_SIDE_FILES.map((suffix) => path + suffix)]) {
    try {
      if ((Deno.statSync(file).mode ?? 0) & 0o077) Deno.chmodSync(file, DATABASE_MODE);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

function migrate(db: DatabaseSync): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new DatabaseError(
      `database schema version ${current} is newer than this program (${MIGRATIONS.length})`,
    );
  }
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version - 1]);
      db.exec(`PRAGMA user_version = ${version}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}
