/**
 * Who may connect and try to log in: counts of open and not-logged-in
 * connections, in all and per IP address, and a login-attempt budget per
 * address. The listener asks before the TLS handshake starts, so a flood
 * costs the server a closed socket, not a handshake.
 */

import { type ServerLimits, TokenBucket } from "./limits.ts";

/** Forget an address's attempt budget after this long without attempts. */
const ATTEMPT_MEMORY_MS = 10 * 60_000;

export class Admission {
  readonly #limits: ServerLimits;
  readonly #perAddress = new Map<string, number>();
  readonly #attempts = new Map<string, { bucket: TokenBucket; last: number }>();
  #open = 0;
  #anonymous = 0;

  constructor(limits: ServerLimits) {
    this.#limits = limits;
  }

  /** A new TCP connection from `ip`: null to accept it (then `release` it), or why not. */
  admit(ip: string): string | null {
    if (this.#open >= this.#limits.maxConnections) return "too many connections";
    if (this.#anonymous >= this.#limits.maxAnonymous) return "too many connections not logged in";
    const fromAddress = this.#perAddress.get(ip) ?? 0;
    if (fromAddress >= this.#limits.maxConnectionsPerAddress) {
      return "too many connections from this address";
    }
    this.#perAddress.set(ip, fromAddress + 1);
    this.#open++;
    this.#anonymous++;
    return null;
  }

  /** The connection logged in: it no longer counts as anonymous. */
  loggedIn(): void {
    this.#anonymous--;
  }

  /** The connection closed; `loggedIn` says whether it had logged in. */
  release(ip: string, loggedIn: boolean): void {
    this.#open--;
    if (!loggedIn) this.#anonymous--;
    const fromAddress = (this.#perAddress.get(ip) ?? 1) - 1;
    if (fromAddress === 0) this.#perAddress.delete(ip);
    else this.#perAddress.set(ip, fromAddress);
  }

  /** One login or registration attempt from `ip`: whether it may go ahead. */
  attempt(ip: string, now = Date.now()): boolean {
    let entry = this.#attempts.get(ip);
    if (entry === undefined) {
      if (this.#attempts.size > 10_000) this.#forgetOld(now);
      const perMinute = this.#limits.loginAttemptsPerMinute;
      entry = { bucket: new TokenBucket(perMinute / 60_000, perMinute, now), last: now };
      this.#attempts.set(ip, entry);
    }
    entry.last = now;
    return entry.bucket.take(now) === 0;
  }

  get open(): number {
    return this.#open;
  }

  get anonymous(): number {
    return this.#anonymous;
  }

  #forgetOld(now: number): void {
    for (const [ip, entry] of this.#attempts) {
      if (now - entry.last > ATTEMPT_MEMORY_MS) this.#attempts.delete(ip);
    }
  }
}
