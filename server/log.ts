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

/** `text`: "TIME EVENT"; `json`: one JSON object a line, for log collectors. */
export type LogFormat = "text" | "json";

/** How long refusals from one address are counted before one summary line. */
export const FLOOD_INTERVAL_MS = 10_000;

export class EventLog {
  readonly #format: LogFormat;
  /** Per address: refusals counted since its last line, while a flood is summarised. */
  readonly #floods = new Map<string, { count: number; what: string }>();

  constructor(readonly sink: LogSink = stdoutSink, format: LogFormat = "text") {
    this.#format = format;
  }

  event(text: string): void {
    const time = new Date().toISOString();
    this.sink(
      this.#format === "json" ? JSON.stringify({ time, event: text }) : `${time} ${text}`,
    );
  }

  /**
   * A refusal from `ip` (a refused connection, a failed handshake): the
   * first is written at once; more from that address within
   * FLOOD_INTERVAL_MS are counted, and one line then says how many.
   */
  refusal(ip: string, text: string): void {
    const flood = this.#floods.get(ip);
    if (flood !== undefined) {
      flood.count++;
      flood.what = text;
      return;
    }
    this.event(text);
    const entry = { count: 0, what: text };
    this.#floods.set(ip, entry);
    const timer = setTimeout(() => {
      this.#floods.delete(ip);
      if (entry.count > 0) {
        this.event(
          `${entry.count} more refused from ${ip} in the last ${FLOOD_INTERVAL_MS / 1000} s ` +
            `(last: ${entry.what})`,
        );
      }
    }, FLOOD_INTERVAL_MS);
    // A summary pending must not keep a stopping server alive.
    Deno.unrefTimer(timer);
  }
}

/** Quotes an untrusted value for a log line. */
export function quote(value: string): string {
  return JSON.stringify(value);
}
