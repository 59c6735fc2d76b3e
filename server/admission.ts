/**
 * Who may connect and try to log in: counts of open and not-logged-in
 * connections, in all and per IP address, and a budget of failed login and
 * registration attempts per address and per name. The listener asks before
 * the TLS handshake starts, so a flood costs the server a closed socket, not
 * a handshake.
 */

import { type ServerLimits, TokenBucket } from "./limits.ts";

/** Forget an address's attempt budget after this long without attempts. */
const ATTEMPT_MEMORY_MS = 10 * 60_000;
/** Budgets kept per map; a flood of addresses or names cannot grow them further. */
const MAX_REMEMBERED = 10_000;

interface AttemptBudget {
  bucket: TokenBucket;
  last: number;
}

export class Admission {
  readonly #limits: ServerLimits;
  readonly #perAddress = new Map<string, number>();
  /** Failed attempts by address, and by the name they were for. */
  readonly #attempts = new Map<string, AttemptBudget>();
  readonly #nameAttempts = new Map<string, AttemptBudget>();
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

  /**
   * A failed login or registration attempt from `ip` for `name`: whether the
   * failure budget of both the address and the name still has room (else the
   * reply is `rate_limited`). Only failures count, so a user whose
   * certificate checks out is never refused for anyone else's failures, on
   * their address or against their name.
   */
  failedAttempt(ip: string, name: string, now = Date.now()): boolean {
    const address = this.#take(this.#attempts, ip, now);
    const named = this.#take(this.#nameAttempts, name, now);
    return address && named;
  }

  #take(buckets: Map<string, AttemptBudget>, key: string, now: number): boolean {
    let entry = buckets.get(key);
    if (entry === undefined) {
      if (buckets.size >= MAX_REMEMBERED) forgetOld(buckets, now);
      const perMinute = this.#limits.loginAttemptsPerMinute;
      entry = { bucket: new TokenBucket(perMinute / 60_000, perMinute, now), last: now };
      buckets.set(key, entry);
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
}

/** Drops budgets unused for a while; if all are recent, the oldest half (a budget is only a cache). */
function forgetOld(buckets: Map<string, AttemptBudget>, now: number): void {
  for (const [key, entry] of buckets) {
    if (now - entry.last > ATTEMPT_MEMORY_MS) buckets.delete(key);
  }
  if (buckets.size < MAX_REMEMBERED) return;
  let drop = buckets.size / 2;
  for (const key of buckets.keys()) {
    if (drop-- <= 0) break;
    buckets.delete(key);
  }
}
