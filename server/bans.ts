/**
 * Who the operator banned (`chat server ban NAME`, SPEC section 8). The ban
 * is a row in the database, written by another process, so every server
 * node polls it: a ban takes effect within BAN_POLL_MS, without a restart,
 * on every node that shares the database.
 */

import type { Store } from "../db/store.ts";

/** How often the database is asked who is banned: "within seconds" (SPEC section 8). */
export const BAN_POLL_MS = 1_000;

export class Bans {
  readonly #store: Store;
  #names = new Set<string>();

  constructor(store: Store) {
    this.#store = store;
  }

  has(name: string): boolean {
    return this.#names.has(name);
  }

  /** Reads the list again; returns the names banned since the last read. */
  async refresh(): Promise<string[]> {
    const names = new Set(await this.#store.bannedNames());
    const added = [...names].filter((name) => !this.#names.has(name));
    this.#names = names;
    return added;
  }
}
