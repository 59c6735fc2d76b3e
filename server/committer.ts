/**
 * Group commit: messages that arrive while the store is busy, or in the same
 * turn of the event loop, are stored in one transaction. A commit costs far
 * more than an insert (SQLite: 40 us against a few, measured in the
 * private-pairs bench; PostgreSQL: a WAL flush), and a message is still
 * echoed only after it is committed. One transaction at a time: the next
 * batch gathers while one is in flight.
 *
 * Other work that must not overlap a commit (delivery.ts reading back what
 * the bus missed) runs in the same queue, between commits.
 */

import { setImmediate } from "node:timers";
import type { NewMessage, Store, StoredMessage } from "../db/store.ts";

/** Told of each committed batch, in order: the messages as stored, and what was given with each. */
export type Committed<T> = (stored: StoredMessage[], tags: T[]) => void;

export class Committer<T> {
  readonly #store: Store;
  readonly #committed: Committed<T>;
  readonly #failed: (error: Error, tags: T[]) => void;
  #batch: NewMessage[] = [];
  #tags: T[] = [];
  #tasks: Array<() => Promise<void>> = [];
  #running: Promise<void> | null = null;
  #scheduled = false;

  constructor(
    store: Store,
    committed: Committed<T>,
    failed: (error: Error, tags: T[]) => void,
  ) {
    this.#store = store;
    this.#committed = committed;
    this.#failed = failed;
  }

  /** Stores `message` with the others waiting; `tag` comes back with it once committed. */
  add(message: NewMessage, tag: T): void {
    this.#batch.push(message);
    this.#tags.push(tag);
    this.#schedule();
  }

  /** Runs `task` between two commits, never during one. */
  exclusive(task: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#tasks.push(() => task().then(resolve, reject));
      this.#schedule();
    });
  }

  /** Resolves once everything added so far is committed (at shutdown). */
  async flush(): Promise<void> {
    while (this.#running !== null || this.#batch.length > 0 || this.#tasks.length > 0) {
      this.#running ??= this.#run();
      await this.#running;
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== null) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#running ??= this.#run();
    });
  }

  async #run(): Promise<void> {
    try {
      while (this.#batch.length > 0 || this.#tasks.length > 0) {
        if (this.#batch.length > 0) {
          const batch = this.#batch;
          const tags = this.#tags;
          this.#batch = [];
          this.#tags = [];
          let stored: StoredMessage[];
          try {
            stored = await this.#store.appendMessages(batch);
          } catch (error) {
            this.#failed(error as Error, tags);
            continue;
          }
          this.#committed(stored, tags);
        }
        const tasks = this.#tasks;
        this.#tasks = [];
        for (const task of tasks) await task().catch(() => {});
      }
    } finally {
      this.#running = null;
    }
  }
}
