/**
 * The message bus between server nodes (SPEC section 7): how every node
 * learns that messages were committed, so each delivers them to the users
 * connected to it. One node uses the in-process bus (local.ts); several use
 * NATS (nats.ts). Nothing outside server/bus/ knows which one runs.
 *
 * A bus may lose or reorder events between nodes (a restart, a network
 * blip): the database is the record, and server/delivery.ts fills any gap
 * from it. Events are a hint that something committed, never the only copy.
 */

import type { StoredMessage } from "../../db/store.ts";

export type BusEvent =
  /** Messages committed by one node, in id order. */
  | { type: "messages"; messages: StoredMessage[] }
  /**
   * A user logged in or out on one node: every node tells its own users
   * (`* NAME joined`, protocol/README.md). A notice, never stored: one lost
   * with a blip is not read back.
   */
  | { type: "presence"; name: string; event: "joined" | "left" };

export interface BusSubscriber {
  /** An event from any node, this one included. */
  event(event: BusEvent): void;
  /** The bus may have lost events (it reconnected): read back what was missed. */
  resync(): void;
}

export interface Bus {
  /** Hands `event` to every node's subscriber; this node's synchronously, before returning. */
  publish(event: BusEvent): void;
  close(): Promise<void>;
}
