/**
 * The server's event log: one line per event on stdout (SPEC section 3),
 * never message contents or key material. Values that came from the network
 * are quoted with JSON so a name cannot forge a log line.
 */

import { LineBuffer, writeStdout } from "../cli/line_buffer.ts";

export type LogSink = (line: string) => void;

/** Log lines of one event-loop turn go out in one write (a login logs four). */
const stdout = new LineBuffer(writeStdout);
export const stdoutSink: LogSink = (line) => stdout.push(line);

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
