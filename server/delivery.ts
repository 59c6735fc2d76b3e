/**
 * Delivers committed messages on this node in the one order all users share
 * (message ids, gap-free: db/store.ts), each once. Messages come from the
 * bus, this node's own included; when the bus brings id N+2 before N+1
 * (another node's publication overtaken, or lost in a restart or a network
 * blip) the node waits briefly, then reads the gap back from the database.
 * Reads run between commits (committer.ts), so a message this node committed
 * is always announced (with its echo) before a read could return it.
 */

import type { Store, StoredMessage } from "../db/store.ts";
import type { Bus, BusEvent, BusSubscriber } from "./bus/bus.ts";
import type { Committer } from "./committer.ts";
import type { Hub, Member } from "./hub.ts";

/** How long a gap may wait for the bus before it is read from the database. */
export const GAP_WAIT_MS = 25;
/** Messages read back per query when catching up. */
const CATCH_UP_PAGE = 1_000;

/** The sender's side of a message this node committed: its session and request id. */
export interface Echo {
  member: Member;
  re: number;
  /** Runs once the message was delivered (or could not be stored: the error). */
  done(error?: Error): void;
}

export class Delivery implements BusSubscriber {
  readonly #store: Store;
  readonly #hub: Hub;
  #committer: Committer<Echo> | null = null;
  #bus: Bus | null = null;
  #last: number;
  /** Messages that arrived ahead of a gap, by id. */
  readonly #ahead = new Map<number, StoredMessage>();
  readonly #echoes = new Map<number, Echo>();
  #gapTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** `last`: the id of the newest message when the node starts; older ones are history. */
  constructor(store: Store, hub: Hub, last: number) {
    this.#store = store;
    this.#hub = hub;
    this.#last = last;
  }

  /** The committer whose queue reads back gaps (set once, at start-up). */
  useCommitter(committer: Committer<Echo>): void {
    this.#committer = committer;
  }

  /** The id of the last message delivered here: history up to it, live after it. */
  get delivered(): number {
    return this.#last;
  }

  /** This node committed `stored`: remember whom to echo each to, before it is published. */
  committed(stored: StoredMessage[], echoes: Echo[]): void {
    for (let i = 0; i < stored.length; i++) this.#echoes.set(stored[i].id, echoes[i]);
  }

  /** The bus presence notices go out on (set once, at start-up). */
  useBus(bus: Bus): void {
    this.#bus = bus;
  }

  /** A user of this node logged in or out: every node's users are told, through the bus. */
  announce(name: string, event: "joined" | "left"): void {
    if (this.#bus === null) this.#hub.announce(name, event);
    else this.#bus.publish({ type: "presence", name, event });
  }

  event(event: BusEvent): void {
    if (event.type === "messages") this.#receive(event.messages);
    else if (event.type === "presence") this.#hub.announce(event.name, event.event);
  }

  resync(): void {
    void this.catchUp();
  }

  /** Reads back and delivers everything committed after the last message delivered. */
  catchUp(): Promise<void> {
    if (this.#committer === null || this.#closed) return Promise.resolve();
    return this.#committer.exclusive(async () => {
      for (;;) {
        const page = await this.#store.messagesAfter(this.#last, CATCH_UP_PAGE);
        this.#receive(page);
        if (page.length < CATCH_UP_PAGE || this.#closed) return;
      }
    });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#gapTimer);
  }

  #receive(messages: readonly StoredMessage[]): void {
    for (const message of messages) {
      if (message.id <= this.#last) continue; // delivered already
      if (message.id !== this.#last + 1) {
        this.#ahead.set(message.id, message);
        continue;
      }
      this.#deliver(message);
      for (let next; (next = this.#ahead.get(this.#last + 1)) !== undefined;) {
        this.#ahead.delete(next.id);
        this.#deliver(next);
      }
    }
    if (this.#ahead.size === 0) {
      clearTimeout(this.#gapTimer);
      this.#gapTimer = undefined;
    } else if (this.#gapTimer === undefined) {
      this.#gapTimer = setTimeout(() => {
        this.#gapTimer = undefined;
        if (this.#ahead.size > 0) void this.catchUp();
      }, GAP_WAIT_MS);
    }
  }

  #deliver(message: StoredMessage): void {
    this.#last = message.id;
    const echo = this.#echoes.get(message.id);
    if (echo === undefined) {
      this.#hub.deliver(message, null, 0);
      return;
    }
    this.#echoes.delete(message.id);
    this.#hub.deliver(message, echo.member, echo.re);
    echo.done();
  }
}
