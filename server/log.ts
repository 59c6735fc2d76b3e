/**
 * The server's event log: one line per event on stdout (SPEC section 3),
 * never message contents or key material. Values that came from the network
 * are quoted with JSON so a name cannot forge a log line.
 */

export type LogSink = (line: string) => void;

const encoder = new TextEncoder();

export const stdoutSink: LogSink = (line) => {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
};

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
