/**
 * Who is online on this node, and fan-out: the one small step that turns a
 * committed message into frames on the connections that should see it.
 * server/delivery.ts calls `deliver` for each message the bus brings, in order.
 */

import {
  encodeEcho,
  encodeServerFrame,
  fitsFrame,
  FrameTooLongError,
  type PrivateMessage,
  type PublicMessage,
} from "../protocol/frames.ts";
import type { StoredMessage } from "../db/store.ts";

/** What the hub needs of a logged-in connection. */
export interface Member {
  readonly name: string;
  /** Queues one encoded frame (a JSON line) for this connection. */
  sendLine(line: string): void;
  /** Queues the encoded frame of message `id`; a member may skip one it has already shown. */
  sendMessage(id: number, line: string): void;
}

export class Hub {
  readonly #online = new Map<string, Member>();

  /** Adds a member; false when that user already has a session here (the roster is the cluster's). */
  join(member: Member): boolean {
    if (this.#online.has(member.name)) return false;
    this.#online.set(member.name, member);
    return true;
  }

  /** Removes a member; false when it was not the user's session (nothing to announce). */
  leave(member: Member): boolean {
    if (this.#online.get(member.name) !== member) return false;
    this.#online.delete(member.name);
    return true;
  }

  /**
   * Tells every member but `name` that `name` logged in or out (SPEC section
   * 2: `* NAME joined`, `* NAME left`). Called by server/delivery.ts for each
   * presence notice the bus brings, from this node or another, the way it
   * delivers messages; never stored, so never history.
   */
  announce(name: string, event: "joined" | "left"): void {
    const line = encodeServerFrame({ type: "presence", name, event });
    for (const member of this.#online.values()) {
      if (member.name !== name) member.sendLine(line);
    }
  }

  get size(): number {
    return this.#online.size;
  }

  /**
   * Sends a committed message to everyone who should see it now: all members
   * for a public message, sender and recipient for a private one. The
   * sender's copy carries `re`, the id of its request, as the acknowledgement.
   * Returns false, sending nothing, when the frame would not fit the frame
   * limit (the limits on what is stored rule it out; this is the last guard).
   */
  deliver(message: StoredMessage, sender: Member | null, re: number): boolean {
    const frame = messageFrame(message);
    let line: string;
    try {
      line = encodeServerFrame(frame);
    } catch (error) {
      if (error instanceof FrameTooLongError) return false;
      throw error;
    }
    const echo = encodeEcho(line, re);
    if (!fitsFrame(echo)) return false;
    if (message.to === null) {
      for (const member of this.#online.values()) {
        member.sendMessage(message.id, member === sender ? echo : line);
      }
      return true;
    }
    sender?.sendMessage(message.id, echo);
    const recipient = this.#online.get(message.to);
    if (recipient !== undefined && recipient !== sender) {
      recipient.sendMessage(message.id, line);
    }
    return true;
  }
}

/** The wire form of a stored message (protocol/README.md, "public", "private"). */
export function messageFrame(message: StoredMessage): PublicMessage | PrivateMessage {
  if (message.to === null) {
    return {
      type: "public",
      id: message.id,
      time: message.time,
      from: message.from,
      text: message.body,
      signature: message.signature ?? "",
    };
  }
  return {
    type: "private",
    id: message.id,
    time: message.time,
    from: message.from,
    to: message.to,
    payload: message.body,
  };
}
