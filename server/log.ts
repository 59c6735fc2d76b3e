/**
 * The server's event log: one line per event on stdout (SPEC section 3),
 * never message contents or key material. Values that came from the network
 * are quoted with JSON so a name cannot forge a log line.
 */

export type LogSink = (line: string) => void;

const encoder = new TextEncoder();

/**
 * Lines logged in one turn of the event loop go out in one write (a login
 * logs four lines; a write each cost about 0.2 ms of a login's CPU).
 */
class StdoutSink {
  #lines: string[] = [];
  #scheduled = false;

  write(line: string): void {
    this.#lines.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const bytes = encoder.encode(this.#lines.join("\n") + "\n");
    this.#lines = [];
    let offset = 0;
    while (offset < bytes.byteLength) offset += Deno.stdout.writeSync(bytes.subarray(offset));
  }
}

const stdout = new StdoutSink();
export const stdoutSink: LogSink = (line) => stdout.write(line);

/** Writes what is waiting (before the process exits). */
export function flushLog(): void {
  stdout.flush();
}

export class EventLog {
  constructor(readonly sink: LogSink = stdoutSink) {}

  event(text: string): void {
    this.sink(`${new Date().toISOString()} ${text}`);
  }
}

/** Quotes an untrusted value for a log line. */
export function quote(value: string): string {
  return JSON.stringify(value);
}
