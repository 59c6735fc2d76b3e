/**
 * A deadline for tests and bench: race a promise against a timer. Every
 * black-box wait goes through it, so a server or client that never answers
 * fails its test with a message instead of stalling the suite.
 */

/**
 * How long a test waits for an expected event before failing. Generous: six
 * suites share two cores here, and a ca init alone has taken 11 s under that
 * load. Only a failing test ever waits this long.
 */
export const WAIT_MS = 30_000;

/** Thrown when a deadline passes; `what` says which wait it was. */
export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no result within ${ms} ms`);
    this.name = "DeadlineError";
  }
}

/**
 * Resolves or rejects as `promise` does, or rejects with DeadlineError after
 * `ms`. The timer is cleared either way, so Deno's leak check stays quiet. The
 * promise itself is not cancelled: callers stop what it waits on (kill the
 * child, close the socket) when the deadline fires.
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number = WAIT_MS,
  what = "wait",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
