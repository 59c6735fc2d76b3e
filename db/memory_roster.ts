/**
 * The roster of one process (db/store.ts `Roster`): who is logged in, in
 * memory. The SQLite engine serves one node, so this is the whole cluster.
 */

import type { Roster } from "./store.ts";

export class MemoryRoster implements Roster {
  readonly #names = new Set<string>();

  claim(name: string): Promise<boolean> {
    if (this.#names.has(name)) return Promise.resolve(false);
    this.#names.add(name);
    return Promise.resolve(true);
  }

  release(name: string): Promise<void> {
    this.#names.delete(name);
    return Promise.resolve();
  }

  names(): Promise<string[]> {
    return Promise.resolve([...this.#names].sort());
  }

  heartbeat(): Promise<boolean> {
    return Promise.resolve(true);
  }

  reapDeparted(): Promise<string[]> {
    return Promise.resolve([]);
  }

  close(): Promise<void> {
    this.#names.clear();
    return Promise.resolve();
  }
}
