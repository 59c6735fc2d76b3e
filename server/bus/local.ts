/**
 * The in-process bus: one node, nothing to cross, so publishing is calling
 * the subscriber (server/bus/bus.ts). The default, with SQLite.
 */

import type { Bus, BusEvent, BusSubscriber } from "./bus.ts";

export class LocalBus implements Bus {
  readonly #subscriber: BusSubscriber;

  constructor(subscriber: BusSubscriber) {
    this.#subscriber = subscriber;
  }

  publish(event: BusEvent): void {
    this.#subscriber.event(event);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
