/**
 * Opens the storage engine a server is configured with (SPEC section 7): a
 * `postgres://` URL opens PostgreSQL (db/postgres/, loaded only then), any
 * other value is the path of an SQLite database (db/sqlite/).
 */

import type { Store } from "./store.ts";
import { SqliteStore } from "./sqlite/store.ts";

/** True for a database location that names a PostgreSQL server. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export function openStore(location: string): Promise<Store> {
  if (isPostgresUrl(location)) {
    return Promise.reject(new Error("PostgreSQL is not supported by this build yet"));
  }
  return Promise.resolve(SqliteStore.open(location));
}

/** The location for messages and logs: a path quoted, a URL without its password. */
export function describeDatabase(location: string): string {
  if (!isPostgresUrl(location)) return `"${location}"`;
  try {
    const url = new URL(location);
    if (url.password !== "") url.password = "***";
    return url.href;
  } catch {
    return "the PostgreSQL database (unparsable URL)";
  }
}
