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

/** Opens the database at `location`; `node` names this server process to PostgreSQL. */
export async function openStore(location: string, node: string): Promise<Store> {
  if (isPostgresUrl(location)) {
    const { PostgresStore } = await import("./postgres/store.ts");
    return await PostgresStore.open(location, node);
  }
  return SqliteStore.open(location);
}

/** A location for messages and logs: a path quoted, a URL without its password. */
export function describeDatabase(location: string): string {
  if (!/^[a-z]+:\/\//i.test(location)) return `"${location}"`;
  try {
    const url = new URL(location);
    if (url.password !== "") url.password = "***";
    return url.href;
  } catch {
    return "(an unparsable URL)";
  }
}
