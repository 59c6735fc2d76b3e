/**
 * What one user may store (SPEC section 3, "what a user may store is
 * bounded"): messages per minute and bytes per day, so that no account can
 * bury everyone else's history or fill the disk. Counted per user in this
 * server process, in memory: a restart starts the counts again, and each
 * node of a cluster counts its own sessions (a user has one session at a
 * time, cluster-wide).
 */

import { type ServerLimits, TokenBucket } from "./limits.ts";

const DAY_MS = 24 * 60 * 60_000;
/** Users whose counts are kept; past this, counts of users idle for a day are dropped. */
const MAX_TRACKED_USERS = 100_000;

export type QuotaRefusal = "message_rate_exceeded" | "daily_quota_exceeded";

interface UserQuota {
  messages: TokenBucket;
  /** The UTC day (days since the epoch) `bytes` counts. */
  day: number;
  bytes: number;
  /** Whether the last message was refused: only the first refusal of a run is logged. */
  refusing: boolean;
  last: number;
}

export class StorageQuotas {
  readonly #limits: ServerLimits;
  readonly #users = new Map<number, UserQuota>();

  constructor(limits: ServerLimits) {
    this.#limits = limits;
  }

  /**
   * Counts a message of `bytes` from user `userId` if it fits both quotas;
   * otherwise counts nothing and says which one it exceeds, and whether
   * this is the first refusal since the user's last stored message.
   */
  take(
    userId: number,
    bytes: number,
    now = Date.now(),
  ): { refusal: QuotaRefusal; first: boolean } | null {
    const quota = this.#quota(userId, now);
    const day = Math.floor(now / DAY_MS);
    if (day !== quota.day) {
      quota.day = day;
      quota.bytes = 0;
    }
    let refusal: QuotaRefusal | null = null;
    if (quota.bytes + bytes > this.#limits.bytesPerDay) refusal = "daily_quota_exceeded";
    else if (quota.messages.take(now) !== 0) refusal = "message_rate_exceeded";
    if (refusal !== null) {
      const first = !quota.refusing;
      quota.refusing = true;
      return { refusal, first };
    }
    quota.bytes += bytes;
    quota.refusing = false;
    return null;
  }

  #quota(userId: number, now: number): UserQuota {
    let quota = this.#users.get(userId);
    if (quota === undefined) {
      if (this.#users.size >= MAX_TRACKED_USERS) this.#forgetIdle(now);
      const perMinute = this.#limits.messagesPerMinute;
      quota = {
        messages: new TokenBucket(perMinute / 60_000, perMinute, now),
        day: Math.floor(now / DAY_MS),
        bytes: 0,
        refusing: false,
        last: now,
      };
      this.#users.set(userId, quota);
    }
    quota.last = now;
    return quota;
  }

  #forgetIdle(now: number): void {
    for (const [id, quota] of this.#users) {
      if (now - quota.last > DAY_MS) this.#users.delete(id);
    }
  }
}
