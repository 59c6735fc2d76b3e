/**
 * The bus over NATS (npm `@nats-io/transport-node`, SPEC section 7): each
 * node publishes what it committed on one subject and hears every other
 * node's. NATS core is at-most-once: a node that was disconnected has lost
 * what was published meanwhile, so on reconnecting it asks its subscriber to
 * resync from the database (server/delivery.ts). The client is loaded by a
 * computed specifier, so a server without `--bus` fetches nothing.
 */

import type { StoredMessage } from "../../db/store.ts";
import type { Bus, BusEvent, BusSubscriber } from "./bus.ts";

const NATS_PACKAGE = ["npm:@nats-io/transport-node", "3.4.0"].join("@");
/** The one subject all nodes of a cluster share. */
export const SUBJECT = "chat.events";
/** Largest payload published at once, well under nats-server's default 1 MiB max_payload. */
const MAX_PAYLOAD_BYTES = 256 * 1024;
/** How long closing waits for what is still queued to reach the server. */
const DRAIN_TIMEOUT_MS = 2_000;

interface NatsMessage {
  data: Uint8Array;
}
interface NatsConnection {
  publish(subject: string, payload: Uint8Array): void;
  subscribe(
    subject: string,
    options: { callback: (error: Error | null, message: NatsMessage) => void },
  ): unknown;
  status(): AsyncIterable<{ type: string }>;
  drain(): Promise<void>;
  close(): Promise<void>;
}

export class NatsBus implements Bus {
  readonly #connection: NatsConnection;
  readonly #subscriber: BusSubscriber;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();
  #closed = false;

  private constructor(connection: NatsConnection, subscriber: BusSubscriber) {
    this.#connection = connection;
    this.#subscriber = subscriber;
  }

  /** Connects to `url` (nats://HOST:PORT), reconnecting for as long as the node runs. */
  static async connect(
    url: string,
    subscriber: BusSubscriber,
    options: { name: string; log(text: string): void },
  ): Promise<NatsBus> {
    const { connect } = await import(NATS_PACKAGE);
    const connection: NatsConnection = await connect({
      servers: url,
      name: options.name,
      // This node delivers its own messages before publishing them.
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 2_000,
    });
    const bus = new NatsBus(connection, subscriber);
    connection.subscribe(SUBJECT, {
      callback: (error, message) => {
        if (error === null) bus.#receive(message.data);
      },
    });
    (async () => {
      for await (const status of connection.status()) {
        if (status.type === "disconnect") options.log("bus disconnected; reconnecting");
        if (status.type === "reconnect") {
          options.log("bus reconnected; catching up from the database");
          subscriber.resync();
        }
      }
    })().catch(() => {});
    return bus;
  }

  publish(event: BusEvent): void {
    this.#subscriber.event(event);
    if (this.#closed) return;
    for (const part of split(event)) {
      try {
        this.#connection.publish(SUBJECT, this.#encoder.encode(JSON.stringify(part)));
      } catch {
        // Disconnected beyond the client's buffer: the other nodes read it
        // back from the database when they next hear from this one, or poll.
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#connection.drain().catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
    await this.#connection.close().catch(() => {});
  }

  #receive(data: Uint8Array): void {
    let event: BusEvent;
    try {
      event = JSON.parse(this.#decoder.decode(data));
    } catch {
      return; // not ours; the database is the record anyway
    }
    if (isBusEvent(event)) this.#subscriber.event(event);
  }
}

/**
 * An event as another node published it, checked field by field; anything
 * else is dropped. Presence notices (`* NAME joined`) pass as they come.
 */
function isBusEvent(value: unknown): value is BusEvent {
  const event = value as { type?: unknown; messages?: unknown; name?: unknown; event?: unknown };
  if (typeof event !== "object" || event === null) return false;
  if (event.type === "messages") {
    return Array.isArray(event.messages) && event.messages.every(isStoredMessage);
  }
  return event.type === "presence" && typeof event.name === "string" &&
    event.name.length <= 256 && (event.event === "joined" || event.event === "left");
}

/** An event in parts that each fit one NATS payload. */
function split(event: BusEvent): BusEvent[] {
  if (event.type !== "messages") return [event];
  const parts: BusEvent[] = [];
  let current: typeof event.messages = [];
  let bytes = 0;
  for (const message of event.messages) {
    const size = message.body.length * 3 + (message.signature?.length ?? 0) * 3 + 200;
    if (current.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      parts.push({ type: "messages", messages: current });
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) parts.push({ type: "messages", messages: current });
  return parts;
}

/** A committed message as another node published it; anything else is dropped. */
function isStoredMessage(value: unknown): value is StoredMessage {
  const m = value as StoredMessage;
  return typeof m === "object" && m !== null && Number.isSafeInteger(m.id) && m.id > 0 &&
    Number.isSafeInteger(m.time) && typeof m.from === "string" &&
    (m.to === null || typeof m.to === "string") && typeof m.body === "string" &&
    (m.signature === null || typeof m.signature === "string");
}
