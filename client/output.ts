/**
 * The client's output, in input order. Every line goes through one queue:
 * lines made from server frames wait there for their checks (a message is
 * verified before it is shown), and a reply made locally waits until every
 * request sent before it has had its answer shown. So a script that pipes
 * commands in reads the answers in the same order.
 */

import { neutralise } from "./render.ts";
import type { Mark, Ui } from "./tui.ts";

/** An output line, or one that deserves attention (a private message to you, your name). */
export type Line = string | { text: string; mark: Mark };

/** At end of input or before a local reply, how long to wait for earlier answers. */
export const DRAIN_TIMEOUT_MS = 10_000;

export class Output {
  readonly #ui: Ui;
  /** Requests sent and not yet answered (their answers shown). */
  readonly #outstanding = new Set<Promise<unknown>>();
  /** The tail of the display queue. */
  #display: Promise<void> = Promise.resolve();

  constructor(ui: Ui) {
    this.#ui = ui;
  }

  /** Appends lines, possibly still being checked, to the display queue. */
  enqueue(lines: () => Line[] | Promise<Line[]>): void {
    this.#display = this.#display
      .then(lines)
      .then((out) => out.forEach((line) => this.print(line)))
      .catch((error) => this.print(`warning: a message could not be shown: ${error.message}`));
  }

  /** Resolves when everything enqueued so far is shown. */
  shown(): Promise<void> {
    return this.#display;
  }

  /** Tracks a request until its answer is shown. */
  track(answered: Promise<unknown>): void {
    const done = answered.then(() => this.#display);
    this.#outstanding.add(done);
    done.finally(() => this.#outstanding.delete(done));
  }

  /** Waits (bounded) until every tracked request has its answer shown. */
  async settle(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise((resolve) => timer = setTimeout(resolve, DRAIN_TIMEOUT_MS));
    await Promise.race([Promise.all([...this.#outstanding, this.#display]), timeout]);
    clearTimeout(timer);
  }

  /** A reply made here, shown after the answers to earlier lines. */
  async reply(line: string): Promise<void> {
    await this.settle();
    this.print(line);
  }

  /** Prints at once, control characters neutralised. */
  print(line: Line): void {
    if (typeof line === "string") this.#ui.print(neutralise(line));
    else this.#ui.print(neutralise(line.text), line.mark);
  }
}
