/**
 * The server's limits (SPEC section 3), each with its default and the flag
 * that changes it. Every limit ends in a clear reply or a closed connection
 * and a log line, never in a crash or an unbounded buffer.
 */

export interface ServerLimits {
  /** Open connections in all. */
  maxConnections: number;
  /** Open connections from one IP address. */
  maxConnectionsPerAddress: number;
  /** Connections not (yet) logged in, in all. */
  maxAnonymous: number;
  /** Time to finish the TLS handshake, ms. */
  handshakeTimeoutMs: number;
  /** Time a connection may stay without logging in, ms. */
  loginTimeoutMs: number;
  /** Time a logged-in connection may stay silent (the client pings), ms. */
  idleTimeoutMs: number;
  /** Requests per second one connection may make, sustained; more are delayed. */
  requestsPerSecond: number;
  /** Requests one connection may make at once before the rate applies. */
  requestBurst: number;
  /** Bytes waiting to be sent to one reader; beyond it the reader is dropped. */
  maxQueuedBytes: number;
  /** Failed login and registration attempts per minute from one IP address, and for one name. */
  loginAttemptsPerMinute: number;
  /** Messages one user may store per minute (sustained; as many at once). */
  messagesPerMinute: number;
  /** Bytes of messages (text or payload, and signature) one user may store per UTC day. */
  bytesPerDay: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 10_000,
  maxConnectionsPerAddress: 256,
  // Room for thousands of idle sockets from many addresses while a real user logs in;
  // the handshake and login timeouts free them.
  maxAnonymous: 5_000,
  // Generous for a TLS 1.3 handshake (one round trip), short for a slowloris.
  handshakeTimeoutMs: 10_000,
  // A person at the prompt types /register or /login well within this.
  loginTimeoutMs: 5 * 60_000,
  // Three missed keepalives (the client pings every IDLE / 3).
  idleTimeoutMs: 15 * 60_000,
  requestsPerSecond: 50,
  requestBurst: 200,
  // About 20,000 messages of 200 bytes: a reader this far behind is not reading.
  maxQueuedBytes: 4 * 1024 * 1024,
  loginAttemptsPerMinute: 30,
  // Five a second, sustained, for a minute: far more than anyone types or pastes
  // in a conversation; a script that floods gets a clear error instead.
  messagesPerMinute: 300,
  // About 100,000 messages of 300 bytes, or 1,300 of the largest; bounds what one
  // account adds to everyone's history and to the disk in a day.
  bytesPerDay: 32 * 1024 * 1024,
};

/** The command-line flag of each limit, its unit, and its help line. */
export const LIMIT_FLAGS: Record<string, { key: keyof ServerLimits; scale: number; help: string }> =
  {
    "max-connections": { key: "maxConnections", scale: 1, help: "open connections in all" },
    "max-per-address": {
      key: "maxConnectionsPerAddress",
      scale: 1,
      help: "open connections from one IP address",
    },
    "max-anonymous": { key: "maxAnonymous", scale: 1, help: "connections not logged in" },
    "handshake-timeout": {
      key: "handshakeTimeoutMs",
      scale: 1000,
      help: "seconds to finish the TLS handshake",
    },
    "login-timeout": {
      key: "loginTimeoutMs",
      scale: 1000,
      help: "seconds a connection may stay without logging in",
    },
    "idle-timeout": {
      key: "idleTimeoutMs",
      scale: 1000,
      help: "seconds a logged-in connection may stay silent",
    },
    "rate": { key: "requestsPerSecond", scale: 1, help: "requests per second per connection" },
    "burst": { key: "requestBurst", scale: 1, help: "requests at once before the rate applies" },
    "max-queued": {
      key: "maxQueuedBytes",
      scale: 1024,
      help: "KiB queued to a slow reader before it is dropped",
    },
    "login-attempts": {
      key: "loginAttemptsPerMinute",
      scale: 1,
      help: "failed logins/registrations a minute per address and per name",
    },
    "messages-per-minute": {
      key: "messagesPerMinute",
      scale: 1,
      help: "messages one user may store a minute",
    },
    "stored-per-day": {
      key: "bytesPerDay",
      scale: 1024 * 1024,
      help: "MiB of messages one user may store a UTC day",
    },
  };

/** A token bucket: `take()` says how long to wait before the next unit, 0 if none. */
export class TokenBucket {
  #tokens: number;
  #updated: number;

  constructor(readonly ratePerMs: number, readonly capacity: number, now = Date.now()) {
    this.#tokens = capacity;
    this.#updated = now;
  }

  /** Takes one token; returns 0, or the ms until one would be available (none taken). */
  take(now = Date.now()): number {
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#updated) * this.ratePerMs);
    this.#updated = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.#tokens) / this.ratePerMs);
  }
}
