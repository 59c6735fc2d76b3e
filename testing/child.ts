/**
 * Child processes for tests and bench, each wait under a deadline: a child
 * that hangs is killed (SIGKILL) and its test fails with what the child
 * printed, instead of stalling the suite.
 */

import { DeadlineError, WAIT_MS, withDeadline } from "./deadline.ts";
import { LineReader } from "./line_reader.ts";

/** How long a whole run of a child (start to exit) may take before it counts as hung. */
export const RUN_MS = 60_000;

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** A child killed for running past its deadline; the message carries its output. */
export class ChildTimeoutError extends Error {
  readonly output: Output;
  constructor(what: string, ms: number, output: Output) {
    super(
      `${what} did not exit within ${ms} ms and was killed\n` +
        `--- stdout ---\n${output.stdout}\n--- stderr ---\n${output.stderr}`,
    );
    this.name = "ChildTimeoutError";
    this.output = output;
  }
}

/** Kills a child, ignoring one that is already gone. */
export function killChild(child: Deno.ChildProcess, signal: Deno.Signal = "SIGKILL"): void {
  try {
    child.kill(signal);
  } catch { /* already gone */ }
}

/**
 * Waits for `child` (stdout and stderr read by `out` and `err`) to exit and
 * its output to end. Past `ms` it is killed and ChildTimeoutError is thrown
 * with what it printed.
 */
export async function exitWithin(
  child: Deno.ChildProcess,
  out: LineReader,
  err: LineReader,
  ms: number = WAIT_MS,
  what = "child process",
): Promise<Output> {
  try {
    const status = await withDeadline(
      Promise.all([child.status, out.done, err.done]).then(([status]) => status),
      ms,
      what,
    );
    return { code: status.code, stdout: out.raw(), stderr: err.raw() };
  } catch (error) {
    if (!(error instanceof DeadlineError)) throw error;
    killChild(child);
    await child.status;
    // The pipes end with the child, unless a grandchild still holds them.
    await withDeadline(Promise.all([out.done, err.done]), WAIT_MS, `${what} output`).catch(
      () => {},
    );
    throw new ChildTimeoutError(what, ms, { code: -1, stdout: out.raw(), stderr: err.raw() });
  }
}

/**
 * Runs `command` (stdout and stderr piped; stdin piped when `input` is given)
 * to its end, feeding it `input`. Fails with ChildTimeoutError, and what the
 * child printed, if it has not exited within `ms`.
 */
export async function runWithTimeout(
  command: Deno.Command,
  input?: string | Uint8Array,
  ms: number = RUN_MS,
  what = "child process",
): Promise<Output> {
  const child = command.spawn();
  const out = new LineReader(child.stdout);
  const err = new LineReader(child.stderr);
  if (input !== undefined) {
    const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
    // Not awaited: a child that never reads must still meet the deadline below.
    (async () => {
      const writer = child.stdin.getWriter();
      await writer.write(bytes);
      await writer.close();
    })().catch(() => {/* the child exited without reading all of it */});
  }
  return await exitWithin(child, out, err, ms, what);
}
