/**
 * Lines written in one turn of the event loop, sent on in one write at the
 * end of that turn: each write to stdout is a system call, and a burst of
 * lines (a history, a login's log lines) made one each cost measurable time.
 * No line waits longer than the turn that wrote it.
 */

export class LineBuffer {
  #lines: string[] = [];
  #scheduled = false;

  /** `write` gets the lines of a turn, each ended by "\n". */
  constructor(readonly write: (text: string) => void) {}

  push(line: string): void {
    this.#lines.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  /** Writes what is waiting now (also before the process exits). */
  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("\n") + "\n";
    this.#lines = [];
    this.write(text);
  }
}

const encoder = new TextEncoder();

/** Writes all of `text` to stdout, synchronously. */
export function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.byteLength) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}
