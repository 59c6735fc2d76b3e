/**
 * Reads a child's output (or any byte stream) as lines, and waits under a
 * deadline for lines that match.
 */

import { WAIT_MS } from "./deadline.ts";

export class LineReader {
  readonly lines: string[] = [];
  #waiters: Array<() => void> = [];
  #ended = false;
  #partial = "";
  #raw = "";
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const textDecoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        const text = textDecoder.decode(chunk, { stream: true });
        this.#raw += text;
        this.#partial += text;
        let newline;
        while ((newline = this.#partial.indexOf("\n")) !== -1) {
          this.lines.push(this.#partial.slice(0, newline));
          this.#partial = this.#partial.slice(newline + 1);
        }
        this.#wake();
      }
    } finally {
      if (this.#partial !== "") this.lines.push(this.#partial);
      this.#partial = "";
      this.#ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves with the first line (from `from` on) that matches; fails after `timeoutMs`. */
  async waitFor(match: string | RegExp, from = 0, timeoutMs = WAIT_MS): Promise<string> {
    const test = (line: string) => typeof match === "string" ? line === match : match.test(line);
    const deadline = Date.now() + timeoutMs;
    let next = from;
    for (;;) {
      // Test each line once: outputs of 100,000 lines are waited on too.
      for (; next < this.lines.length; next++) {
        if (test(this.lines[next])) return this.lines[next];
      }
      if (this.#ended) throw new Error(`output ended without ${match}:\n${this.text()}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${match}:\n${this.text()}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Everything read so far, exactly (newlines and a final newline as they came). */
  raw(): string {
    return this.#raw;
  }

  /** The lines read so far joined by newlines, a trailing partial line included. */
  text(): string {
    return this.#partial === "" ? this.lines.join("\n") : [...this.lines, this.#partial].join("\n");
  }
}
