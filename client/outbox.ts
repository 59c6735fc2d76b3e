/**
 * Messages sent and not yet acknowledged (SPEC section 2: a client that
 * lost its connection sends nothing twice). Each message gets an id chosen
 * here (`cid`, protocol/README.md); its echo from the server is the
 * acknowledgement. What a lost connection left unacknowledged is sent again,
 * in order, marked `resend`, and the server answers a resend it already
 * stored with that stored message instead of storing it twice.
 */

import { toBase64Url } from "../protocol/base64url.ts";
import type { ClientFrame } from "../protocol/frames.ts";

/** A message request without its per-connection request id. */
export type OutgoingMessage =
  | Omit<Extract<ClientFrame, { type: "public" }>, "id">
  | Omit<Extract<ClientFrame, { type: "private" }>, "id">;

interface Entry {
  message: OutgoingMessage;
  sent: boolean;
  acknowledged: () => void;
}

export class Outbox {
  readonly #entries = new Map<string, Entry>();

  /** Adds a message; the promise resolves once the server acknowledged it. */
  add(message: OutgoingMessage): { cid: string; acknowledged: Promise<void> } {
    const cid = newClientId();
    let acknowledged!: () => void;
    const promise = new Promise<void>((resolve) => acknowledged = resolve);
    this.#entries.set(cid, { message: { ...message, cid }, sent: false, acknowledged });
    return { cid, acknowledged: promise };
  }

  /** The frame to send for `cid` (marked `resend` when it went out before), or null once acknowledged. */
  frame(cid: string, id: number): ClientFrame | null {
    const entry = this.#entries.get(cid);
    if (entry === undefined) return null;
    const frame = { ...entry.message, id, ...(entry.sent ? { resend: true as const } : {}) };
    entry.sent = true;
    return frame as ClientFrame;
  }

  acknowledge(cid: string): void {
    this.#entries.get(cid)?.acknowledged();
    this.#entries.delete(cid);
  }

  /** The ids of what is still unacknowledged, oldest first. */
  pending(): string[] {
    return [...this.#entries.keys()];
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * The time in milliseconds as 12 hex digits, then 96 random bits: unique
 * per sender without coordination, and increasing over time, so the
 * server's index of cids grows at one end (protocol/README.md, "cid").
 */
export function newClientId(now = Date.now()): string {
  return now.toString(16).padStart(12, "0") +
    toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
}

/** First wait before reconnecting, and the most it grows to (doubling). */
export const RECONNECT_FIRST_MS = 1_000;
export const RECONNECT_MAX_MS = 30_000;

/**
 * The wait before reconnection attempt `attempt` (0, 1, ...): about 1 s
 * doubling to 30 s, each drawn from 75-125 % of that so that clients a
 * restart dropped together do not come back together.
 */
export function reconnectDelay(attempt: number, random = Math.random()): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.75 + random * 0.5));
}
