/**
 * The server's TLS edge, and the only server file that knows about sockets.
 * It uses node:tls because Deno.listenTls cannot request or verify client
 * certificates (denoland/deno#26825, SPEC section 5); when Deno can, only
 * this file changes.
 *
 * One listener serves everyone: a client without a certificate completes the
 * handshake and may only register or log in (and is refused); a client
 * certificate that the TLS layer verified is handed to the session, which
 * checks it again before taking an identity from it.
 *
 * The limits of server/limits.ts that concern sockets are enforced here:
 * connections are counted before the handshake starts, the handshake and the
 * time to log in are bounded, a logged-in connection that stays silent is
 * closed, requests beyond the rate are delayed (reading pauses), and a
 * reader that lets too much output pile up is dropped.
 */

import type net from "node:net";
import tls from "node:tls";
import { setImmediate } from "node:timers";
import { FrameTooLargeError, LineDecoder } from "../protocol/line_decoder.ts";
import { encodeFrame } from "../protocol/frames.ts";
import type { Admission } from "./admission.ts";
import { type ServerLimits, TokenBucket } from "./limits.ts";
import type { Connection } from "./session.ts";

/** How long a closing connection may take to flush before it is dropped. */
const CLOSE_GRACE_MS = 5_000;
/**
 * How often the login and idle deadlines are checked: one timer for all
 * connections instead of one re-armed on every read (3.2 us each in the
 * private-pairs bench); a deadline may fire up to this much late.
 */
const DEADLINE_TICK_MS = 1_000;

export interface TlsMaterial {
  /** PEM private key of the server. */
  key: string;
  /** PEM certificate of the server. */
  certificate: string;
  /** PEM certificate of the CA that client certificates must chain to. */
  ca: string;
}

/** One admitted TCP connection, from before its handshake to its close. */
interface Admitted {
  ip: string;
  /** "ip:port", for the log. */
  address: string;
  loggedIn: boolean;
  /** The raw socket closed (its slot released): a handshake completing after it is refused. */
  closed: boolean;
}

export interface ListenerEvents {
  /** A TLS connection is established. */
  connection(connection: SocketConnection): void;
  /** Something to log about a connection. */
  log(text: string): void;
  /** A refusal or failed handshake from `ip`: floods of them are summarised. */
  refusal(ip: string, text: string): void;
}

export function createListener(
  material: TlsMaterial,
  limits: ServerLimits,
  admission: Admission,
  events: ListenerEvents,
): tls.Server {
  // The admission record of each raw socket, found from the TLS socket over
  // it (asking a socket its address is a system call; and a TLS socket whose
  // handshake failed no longer knows it: Deno 2.9.6 says undefined).
  const peers = new WeakMap<net.Socket, Admitted>();
  const server = tls.createServer({
    key: material.key,
    cert: material.certificate,
    ca: material.ca,
    requestCert: true,
    // Clients without a certificate must still reach the anonymous state.
    rejectUnauthorized: false,
    minVersion: "TLSv1.3",
    handshakeTimeout: limits.handshakeTimeoutMs,
    // Not before the handshake: in Deno 2.9.6 a half-open raw socket reports
    // nothing until the handshake times out, so a peer that connects and
    // leaves would hold its per-address slot for that long (issue 8).
    allowHalfOpen: false,
  }, (socket) => {
    const raw = rawSocket(socket);
    const record = raw && peers.get(raw);
    if (record === undefined || record.closed) {
      socket.destroy();
      return;
    }
    // After it: we end our side ourselves, once the replies to what was read are sent.
    socket.allowHalfOpen = true;
    events.connection(new SocketConnection(socket, record, limits, admission, events.log));
  });
  server.on("connection", (raw: net.Socket) => {
    const ip = raw.remoteAddress ?? "?";
    const address = formatAddress(ip, raw.remotePort);
    const refusal = admission.admit(ip);
    if (refusal !== null) {
      events.refusal(ip, `refused connection from ${address}: ${refusal}`);
      raw.destroy();
      return;
    }
    const record: Admitted = { ip, address, loggedIn: false, closed: false };
    peers.set(raw, record);
    // A socket closes once: on(), which keeps no wrapper per connection as once() does.
    raw.on("close", () => {
      record.closed = true;
      admission.release(ip, record.loggedIn);
    });
  });
  server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
    const raw = rawSocket(socket);
    const peer = (raw && peers.get(raw)) ?? {
      ip: socket.remoteAddress ?? "?",
      address: formatAddress(socket.remoteAddress, socket.remotePort),
    };
    events.refusal(peer.ip, `tls handshake failed from ${peer.address}: ${error.message}`);
    socket.destroy();
  });
  return server;
}

/**
 * Listens and resolves with the bound address. With `reusePort`, other
 * processes that listen the same way share the port (SO_REUSEPORT: the
 * kernel spreads new connections over them).
 */
export function listen(server: tls.Server, host: string, port: number, reusePort = false): Promise<{
  host: string;
  port: number;
}> {
  // node:net checks the permission on a later tick and throws it uncaught
  // there, so ask first.
  const permission = Deno.permissions.querySync({ name: "net", host: formatAddress(host, port) });
  if (permission.state !== "granted") {
    return Promise.reject(new Deno.errors.NotCapable(`net access to ${host} not granted`));
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, reusePort }, () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("listener has no TCP address"));
        return;
      }
      resolve({ host: address.address, port: address.port });
    });
  });
}

/**
 * A TLS socket as a `Connection`: incoming data split into frames and paced
 * to the request rate, outgoing lines coalesced into one write per turn of
 * the event loop (Deno's node:tls pays per write, not per byte).
 */
export class SocketConnection implements Connection {
  readonly address: string;
  #certificate: Uint8Array | null;
  readonly certificateProblem: string | null;
  readonly #socket: tls.TLSSocket;
  readonly #record: Admitted;
  readonly #limits: ServerLimits;
  readonly #admission: Admission;
  readonly #log: (text: string) => void;
  readonly #decoder = new LineDecoder();
  readonly #rate: TokenBucket;
  /** Frames read but not yet handed on, while the rate holds them back. */
  #inbox: Uint8Array[] = [];
  #paced = false;
  /** The session asked to stop reading until its messages are committed. */
  #held = false;
  /** Told once the inbox is empty (the peer ended its side: every frame is handed on first). */
  #inboxEmptied: (() => void) | null = null;
  #onLine: (line: Uint8Array) => void = () => {};
  #outgoing: string[] = [];
  #outgoingBytes = 0;
  /** Some of #outgoing came through sendPaced: drained() must write it now. */
  #pacedQueued = false;
  #flushScheduled = false;
  #closed = false;
  /** Who logged in on it, for the log. */
  #user: string | null = null;
  /** The close's grace timer. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the deadline tick drops this connection (performance.now()), and why. */
  #deadline = Infinity;
  #deadlineReason = "";
  /** Read since the last tick: the idle deadline moves. */
  #active = false;

  constructor(
    socket: tls.TLSSocket,
    record: Admitted,
    limits: ServerLimits,
    admission: Admission,
    log: (text: string) => void,
  ) {
    this.#socket = socket;
    this.#record = record;
    this.#limits = limits;
    this.#admission = admission;
    this.#log = log;
    this.#rate = new TokenBucket(limits.requestsPerSecond / 1000, limits.requestBurst);
    this.address = record.address;
    // The leaf alone: getPeerCertificate(true) also builds the issuer chain
    // as legacy objects (~80 us a connection, a tenth of a login's CPU).
    const presented = socket.getPeerX509Certificate();
    const der = presented === undefined ? null : new Uint8Array(presented.raw);
    this.#certificate = socket.authorized === true ? der : null;
    this.certificateProblem = der !== null && socket.authorized !== true
      ? `certificate not verified by TLS (${socket.authorizationError ?? "unknown reason"})`
      : null;
  }

  get verifiedCertificate(): Uint8Array | null {
    return this.#certificate;
  }

  get ip(): string {
    return this.#record.ip;
  }

  /**
   * Starts reading. `onLine` gets each frame; when the peer ends its side,
   * the connection closes once `settled()` resolves (replies sent); `onClose`
   * runs once at the end.
   */
  start(
    onLine: (line: Uint8Array) => void,
    settled: () => Promise<void>,
    onClose: (reason: string) => void,
  ): void {
    this.#onLine = onLine;
    let ended = false;
    const finish = (reason: string) => {
      if (ended) return;
      ended = true;
      this.#closed = true;
      clearTimeout(this.#timer);
      unwatch(this);
      onClose(reason);
    };
    this.#expireIn(this.#limits.loginTimeoutMs, "did not log in in time");
    this.#socket.on("data", (chunk: Uint8Array) => {
      this.#active = true;
      let lines: Uint8Array[];
      try {
        lines = this.#decoder.push(chunk);
      } catch (error) {
        if (!(error instanceof FrameTooLargeError)) throw error;
        this.sendLine(encodeFrame({ type: "error", code: "malformed" }));
        this.close();
        finish("frame too large");
        return;
      }
      for (const line of lines) this.#inbox.push(line);
      this.#pump();
    });
    this.#socket.on("error", (error: Error) => {
      finish(`socket error: ${error.message}`);
      this.#socket.destroy();
    });
    this.#socket.on("close", () => finish("closed"));
    this.#socket.on("end", () => {
      // Answer what was read, but never wait on it for long: a peer that
      // has gone must not keep its user logged in.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS));
      const pumped = this.#inbox.length === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.#inboxEmptied = resolve);
      Promise.race([pumped.then(settled), grace]).finally(() => {
        clearTimeout(timer);
        this.close();
      });
    });
  }

  /** The session logged in as `user`: idle time now counts instead of time to log in. */
  loggedIn(user: string): void {
    if (this.#record.loggedIn) return;
    this.#user = user;
    this.#certificate = null; // checked and pinned: not kept for as long as the session lasts
    this.#record.loggedIn = true;
    this.#admission.loggedIn();
    this.#expireIn(this.#limits.idleTimeoutMs, "idle too long");
  }

  sendLine(line: string): void {
    if (this.#closed) return;
    this.#outgoing.push(line);
    this.#outgoingBytes += line.length;
    if (this.#outgoingBytes + this.#socket.writableLength > this.#limits.maxQueuedBytes) {
      this.#drop("reader too slow: output queue over the limit");
      return;
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** The session awaits `drained()` between pages of these, and before its next sendLine. */
  sendPaced(line: string): void {
    if (this.#closed) return;
    this.#outgoing.push(line);
    this.#pacedQueued = true;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /**
   * Resolves once the paced lines queued so far have gone to the socket.
   * Lines queued with sendLine go with the turn's one write: an empty
   * history costs a login no write of its own.
   */
  drained(): Promise<void> {
    if (this.#pacedQueued) this.#flush();
    if (this.#closed || !this.#socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off("drain", done);
        this.#socket.off("close", done);
        resolve();
      };
      this.#socket.on("drain", done);
      this.#socket.on("close", done);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    unwatch(this);
    clearTimeout(this.#timer);
    this.#socket.end();
    // end() waits for queued output to be taken; a peer that takes nothing
    // more is dropped after the grace period.
    this.#timer = setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS);
  }

  /** Drops the connection at once, without flushing. */
  destroy(): void {
    this.#closed = true;
    unwatch(this);
    clearTimeout(this.#timer);
    this.#socket.destroy();
  }

  holdReading(held: boolean): void {
    if (this.#held === held) return;
    this.#held = held;
    if (held) {
      this.#socket.pause();
    } else if (!this.#closed) {
      if (!this.#paced) this.#socket.resume();
      // Not from inside the session's call: frames go on in a turn of their own.
      queueMicrotask(() => this.#pump());
    }
  }

  /** Hands queued frames on at the allowed rate; pauses reading while over it. */
  #pump(): void {
    if (this.#paced) return;
    while (this.#inbox.length > 0 && !this.#closed && !this.#held) {
      const wait = this.#rate.take();
      if (wait > 0) {
        this.#paced = true;
        this.#socket.pause();
        setTimeout(() => {
          this.#paced = false;
          if (this.#closed) return;
          if (!this.#held) this.#socket.resume();
          this.#pump();
        }, wait);
        return;
      }
      this.#onLine(this.#inbox.shift()!);
    }
    if (this.#inbox.length === 0 && this.#inboxEmptied !== null) {
      this.#inboxEmptied();
      this.#inboxEmptied = null;
    }
  }

  #expireIn(ms: number, reason: string): void {
    if (this.#closed) return; // the close's own timer stands
    this.#deadline = performance.now() + ms;
    this.#deadlineReason = reason;
    this.#active = false;
    watch(this);
  }

  /** The deadline tick: moves the idle deadline after reads, drops what is past its deadline. */
  checkDeadline(now: number): void {
    if (this.#active && this.#record.loggedIn) {
      this.#active = false;
      this.#deadline = now + this.#limits.idleTimeoutMs;
    } else if (now >= this.#deadline) {
      this.#drop(this.#deadlineReason);
    }
  }

  #drop(reason: string): void {
    if (this.#closed) return;
    const user = this.#user === null ? "" : ` (user ${JSON.stringify(this.#user)})`;
    this.#log(`closed connection ${this.address}: ${reason}${user}`);
    this.destroy();
  }

  #flush(): void {
    this.#flushScheduled = false;
    this.#pacedQueued = false;
    if (this.#outgoing.length === 0 || this.#socket.destroyed) return;
    const data = this.#outgoing.length === 1 ? this.#outgoing[0] : this.#outgoing.join("");
    this.#outgoing = [];
    this.#outgoingBytes = 0;
    this.#socket.write(data);
  }
}

/** Why binding failed, in the operator's words, and what to do about it. */
export function describeListenError(
  error: unknown,
  host: string,
): { reason: string; hint?: string } {
  if (error instanceof Deno.errors.NotCapable) {
    return {
      reason: "not allowed by this command's permissions",
      hint: `run it with --allow-net (the "server" task does) or --allow-net=${host}`,
    };
  }
  const code = (error as { code?: string })?.code;
  switch (code) {
    case "EADDRINUSE":
      return { reason: "the port is in use", hint: "is another server running there?" };
    case "EADDRNOTAVAIL":
    case "EINVAL":
      return {
        reason: `no network interface of this machine has the address ${host}`,
        hint: 'give one of its own addresses with --host, or "0.0.0.0" for all of them',
      };
    case "EACCES":
      return { reason: "permission denied", hint: "ports below 1024 need privileges" };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { reason: `cannot resolve the host name ${host}` };
  }
  return { reason: (error as Error)?.message ?? String(error) };
}

/** Connections with a login or idle deadline, checked by one timer while there are any. */
const watched = new Set<SocketConnection>();
let tick: ReturnType<typeof setInterval> | undefined;

function watch(connection: SocketConnection): void {
  watched.add(connection);
  tick ??= setInterval(() => {
    const now = performance.now();
    for (const c of watched) c.checkDeadline(now);
  }, DEADLINE_TICK_MS);
}

/** The tick stops with the last connection it watches (a stopped server leaves no timer). */
function unwatch(connection: SocketConnection): void {
  watched.delete(connection);
  if (watched.size === 0 && tick !== undefined) {
    clearInterval(tick);
    tick = undefined;
  }
}

/** The TCP socket a server-side TLS socket wraps (node:tls keeps it as `_parent`). */
function rawSocket(socket: tls.TLSSocket): net.Socket | undefined {
  return (socket as unknown as { _parent?: net.Socket })._parent;
}

export function formatAddress(host: string | undefined, port: number | undefined): string {
  const h = host ?? "?";
  return `${h.includes(":") ? `[${h}]` : h}:${port ?? "?"}`;
}
