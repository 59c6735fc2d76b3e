/**
 * One client connection's state machine: greeting, then anonymous (may only
 * register or log in), then logged in as one user. It takes decoded lines
 * and answers through a `Connection`, so tests can drive it without sockets.
 *
 * Identity comes only from a client certificate that the TLS layer verified
 * against our CA AND that pki/ verifies again (v3, signed by the CA, valid
 * now, for client authentication) AND whose key is the one recorded for that
 * user at registration. Deno 2.9.6 skips the handshake signature check for
 * X.509 v1 certificates when it reports the peer unauthorized, so an
 * unauthorized socket never yields an identity.
 */

import { CertificateError, type ClientIdentity } from "../pki/certificates.ts";
import type { Roster, Store, StoredMessage, StoredUser } from "../db/store.ts";
import { equalBytes } from "../pki/keys.ts";
import { x25519KeyProblem } from "../pki/points.ts";
import {
  type ClientFrame,
  decodeClientFrame,
  encodeServerFrame,
  type ErrorCode,
  FrameTooLongError,
  type HistoryRange,
  ProtocolError,
  type RegisterRequest,
  type ServerFrame,
  usersReplies,
} from "../protocol/frames.ts";
import { fromBase64Url, toBase64Url } from "../protocol/base64url.ts";
import { PROTOCOL_VERSION } from "../protocol/limits.ts";
import { type Hub, type Member, messageFrame } from "./hub.ts";
import { type EventLog, quote } from "./log.ts";
import type { Admission } from "./admission.ts";
import type { StorageQuotas } from "./quotas.ts";
import type { Bans } from "./bans.ts";
import type { Revocations } from "./revocations.ts";
import type { Committer } from "./committer.ts";
import type { Delivery, Echo } from "./delivery.ts";
import type { CertificateCache } from "./certificate_cache.ts";
import type { ServerLimits } from "./limits.ts";

/** History rows read from the store at once. */
export const HISTORY_PAGE_ROWS = 200;
/**
 * History bytes written between two waits for the socket to drain: what a
 * login costs in memory, whatever the length of the history (a frame is at
 * most 64 KiB, so a page is at most this plus one frame).
 */
export const HISTORY_PAGE_BYTES = 128 * 1024;

/**
 * A session's messages read but not yet committed and delivered, past which
 * it stops reading until half of them are (reading paced to the commits: a
 * burst does not sit whole in memory, where every young object it makes
 * survives collections; the group commit still gathers every session's).
 */
export const MAX_UNPOSTED = 256;

/** The socket side of a session (server/listener.ts implements it). */
export interface Connection {
  /** "HOST:PORT" of the peer, for the log. */
  readonly address: string;
  /**
   * DER client certificate, only when the TLS layer verified it against our
   * CA; null again once the session has logged in (it needs it no longer).
   */
  readonly verifiedCertificate: Uint8Array | null;
  /** Why the TLS layer did not verify a certificate the peer presented, if it did. */
  readonly certificateProblem: string | null;
  /** The peer's IP address, for per-address limits. */
  readonly ip: string;
  /** Called once the session is logged in (limits change: idle time, not time to log in). */
  loggedIn(user: string): void;
  /** Queues a line; a reader that lets too much pile up is dropped (slow-reader limit). */
  sendLine(line: string): void;
  /**
   * Queues a line the server chose to send (history): not counted against the
   * slow-reader limit, because the sender paces it with `drained()`.
   */
  sendPaced(line: string): void;
  /** Resolves once queued output has gone to the socket. */
  drained(): Promise<void>;
  /**
   * Stops handing on frames (and reading) while `held`, so that a burst
   * waits in the socket rather than in memory until what came before is
   * committed. Optional: a connection without it is never held.
   */
  holdReading?(held: boolean): void;
  close(): void;
}

export interface ServerContext {
  store: Store;
  /** Who is logged in, on every node. */
  roster: Roster;
  /** Verifies client certificates against the CA, remembering the ones it accepted. */
  certificates: CertificateCache;
  committer: Committer<Echo>;
  /** Orders committed messages and hands them to the hub; its watermark splits history from live. */
  delivery: Delivery;
  hub: Hub;
  log: EventLog;
  limits: ServerLimits;
  admission: Admission;
  /** What each user may store (messages a minute, bytes a day). */
  quotas: StorageQuotas;
  /** Users the operator banned: refused at login. */
  bans: Bans;
  /** Certificates the TTP revoked (serverkeys/crl.pem): refused at login. */
  revocations: Revocations;
  /** Milliseconds since the epoch; messages get non-decreasing times. */
  clock: () => number;
}

type State = "greeting" | "anonymous" | "busy" | "member" | "closed";

export class Session implements Member {
  #state: State = "greeting";
  #user: StoredUser | null = null;
  #identity: Promise<ClientIdentity | string> | null = null;
  /** The serial number of the certificate this connection logged in with. */
  #serial: string | null = null;
  /** Live lines held back while history is still being sent, with their message ids. */
  #held: Array<[number, string]> | null = null;
  #heldBytes = 0;
  /** The newest message the history covered: a live copy of one as old is not sent again. */
  #historyUpTo = 0;
  /** The work of the frames received so far, while some of it waits; null when all is done. */
  #queue: Promise<void> | null = null;
  /** This session's messages handed to the committer, and how many of them are delivered. */
  #submitted = 0;
  #delivered = 0;
  /** What waits for the delivery of this session's messages: [how many, what], in order. */
  #postedWaiters: Array<[number, () => void]> = [];
  /** Whom this session last wrote to privately (a user row never changes): no lookup per message. */
  #lastRecipient: StoredUser | null = null;

  constructor(readonly connection: Connection, readonly context: ServerContext) {}

  /** The serial of the certificate of a logged-in session (null before): for revocation. */
  get certificateSerial(): string | null {
    return this.#user === null ? null : this.#serial;
  }

  get name(): string {
    return this.#user?.name ?? "";
  }

  /**
   * Takes one frame's bytes; frames are handled strictly in order. A frame
   * that needs no waiting (a message, most of the time) is handled at once;
   * only work that waits goes on a promise chain, and while it does every
   * later frame queues behind it (the chain cost a few allocations per
   * message in the private-pairs bench).
   */
  receive(line: Uint8Array): void {
    if (this.#queue !== null) {
      this.#enqueue(this.#queue.then(() => this.#handleLine(line)));
      return;
    }
    let work: Promise<void> | void;
    try {
      work = this.#handleLine(line);
    } catch (error) {
      return this.#failed(error);
    }
    if (work !== undefined) this.#enqueue(work);
  }

  #enqueue(work: Promise<void>): void {
    const tail: Promise<void> = work.catch((error) => this.#failed(error)).then(() => {
      if (this.#queue === tail) this.#queue = null;
    });
    this.#queue = tail;
  }

  #failed(error: unknown): void {
    this.context.log.event(
      `error on connection ${this.connection.address}: ${(error as Error).message}`,
    );
    this.connection.close();
  }

  /** A promise that settles when every frame received so far is handled (messages delivered). */
  async settled(): Promise<void> {
    while (this.#queue !== null) await this.#queue;
    await this.#posted();
  }

  /** Settles once every message this session sent so far is committed and delivered. */
  #posted(): Promise<void> {
    if (this.#delivered === this.#submitted) return Promise.resolve();
    return new Promise((resolve) => this.#afterPosted(resolve));
  }

  /** Runs `then` once the messages sent so far are delivered (at once if they are). */
  #afterPosted(then: () => void): void {
    if (this.#delivered === this.#submitted) then();
    else this.#postedWaiters.push([this.#submitted, then]);
  }

  /** One of this session's messages was delivered (or failed): run what waited for it. */
  #onePosted(): void {
    if (this.#submitted - ++this.#delivered === MAX_UNPOSTED / 2) {
      this.connection.holdReading?.(false);
    }
    const waiters = this.#postedWaiters;
    while (waiters.length > 0 && waiters[0][0] <= this.#delivered) waiters.shift()![1]();
  }

  /** The connection is gone: leave the hub. Idempotent. */
  end(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    if (this.#user === null) return;
    if (this.context.hub.leave(this)) this.context.delivery.announce(this.#user.name, "left");
    this.#release(this.#user.name);
    this.context.log.event(`logout ${quote(this.#user.name)} from ${this.connection.address}`);
    this.#recordSeen(this.#user);
  }

  /** Ends a logged-in session for the operator's `reason` (a ban, a revoked certificate). */
  expel(reason: string): void {
    if (this.#state === "closed" || this.#user === null) return;
    this.context.log.event(
      `closed connection ${this.connection.address}: ${reason} (user ${quote(this.#user.name)})`,
    );
    this.connection.close();
    this.end();
  }

  #recordSeen(user: StoredUser): void {
    this.context.store.recordSeen(user, this.context.clock()).catch((error) => {
      this.context.log.event(`cannot record when ${quote(user.name)} was seen: ${error.message}`);
    });
  }

  /** Hub delivery of a message: once, after the history (which may have had it already). */
  sendMessage(id: number, line: string): void {
    if (id <= this.#historyUpTo) return;
    this.#hold(id, line);
  }

  /** Hub delivery of anything else: held back while history is being replayed. */
  sendLine(line: string): void {
    this.#hold(Infinity, line);
  }

  #hold(id: number, line: string): void {
    if (this.#held === null) return this.connection.sendLine(line);
    this.#held.push([id, line]);
    this.#heldBytes += line.length;
    // A reader that cannot take its history cannot hold back live messages forever.
    if (this.#heldBytes > this.context.limits.maxQueuedBytes) {
      this.#held = [];
      this.#refuse("reader too slow: live messages piled up behind the history");
    }
  }

  #handleLine(line: Uint8Array): Promise<void> | void {
    if (this.#state === "closed") return;
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(line);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // A well-formed frame with a bad field gets a reply tied to its id.
      this.#send({ type: "error", ...reId(line), code: error.code });
      if (error.code === "malformed") this.#refuse("malformed frame");
      return;
    }
    if (this.#state === "greeting") {
      this.#greet(frame);
      return;
    }
    if (this.#state === "member") {
      // The fast path: nothing to wait for (messages are echoed once committed).
      // (A resend first looks for the stored copy: it takes the slow path.)
      if (frame.type === "public" && !frame.resend) {
        return this.#post(frame.id, null, frame.text, frame.signature, frame.cid);
      }
      if (frame.type === "private" && !frame.resend && frame.to === this.#lastRecipient?.name) {
        return this.#post(frame.id, this.#lastRecipient, frame.payload, null, frame.cid);
      }
    }
    // Replies keep the order of requests: an answer waits for the echoes of
    // the messages sent before it (they wait for their group commit).
    if ((frame.type !== "public" && frame.type !== "private") || frame.resend) {
      if (this.#delivered !== this.#submitted) {
        return this.#posted().then(() => this.#dispatch(frame));
      }
    }
    return this.#dispatch(frame);
  }

  #greet(frame: ClientFrame): void {
    if (frame.type !== "hello") {
      this.#send({ type: "error", code: "malformed" });
      this.#refuse("no hello");
      return;
    }
    if (!frame.versions.includes(PROTOCOL_VERSION)) {
      this.#send({ type: "error", code: "unsupported_version" });
      this.#refuse("unsupported protocol version");
      return;
    }
    this.#send({ type: "hello", version: PROTOCOL_VERSION });
    this.#state = "anonymous";
  }

  async #dispatch(frame: ClientFrame): Promise<void> {
    const member = this.#state === "member";
    switch (frame.type) {
      case "hello":
        return this.#error(undefined, "malformed");
      case "register":
        if (member) return this.#error(frame.id, "not_available");
        return await this.#register(frame);
      case "login":
        if (member) return this.#error(frame.id, "not_available");
        return await this.#login(frame.id, frame.name, frame);
      case "history":
        if (!member) return this.#error(frame.id, "not_available");
        return await this.#streamHistory(frame.id, frame, true);
      case "ping":
        return this.#send({ type: "pong", re: frame.id });
      case "users":
        if (!member) return this.#error(frame.id, "not_available");
        for (const reply of usersReplies(frame.id, await this.context.roster.names())) {
          this.#send(reply);
        }
        return;
      case "keys": {
        if (!member) return this.#error(frame.id, "not_available");
        const keys = await this.context.store.findKeys(frame.name);
        if (keys === null) return this.#error(frame.id, "user_not_found");
        return this.#send({
          type: "keys",
          re: frame.id,
          name: frame.name,
          certificate: toBase64Url(keys.certificate),
          encryption_key: toBase64Url(keys.encryptionKey),
          binding: toBase64Url(keys.keyBinding),
        });
      }
      case "public":
        if (!member) return this.#error(frame.id, "not_available");
        if (frame.resend && await this.#echoStored(frame.id, frame.cid!)) return;
        return this.#post(frame.id, null, frame.text, frame.signature, frame.cid);
      case "private": {
        if (!member) return this.#error(frame.id, "not_available");
        if (frame.resend && await this.#echoStored(frame.id, frame.cid!)) return;
        const recipient = await this.context.store.findUser(frame.to);
        if (recipient === null) {
          // After the echoes of the messages before it, as every reply.
          return this.#afterPosted(() => this.#error(frame.id, "user_not_found"));
        }
        this.#lastRecipient = recipient;
        return this.#post(frame.id, recipient, frame.payload, null, frame.cid);
      }
      case "exit":
        this.connection.close();
        return this.end();
    }
  }

  /**
   * Refuses a login or registration. A failure counts against the budgets of
   * the address and of the name (server/admission.ts); past either, the
   * reply is `rate_limited`. Successes never consult them.
   */
  #refuseAttempt(
    re: number,
    what: "login" | "registration",
    name: string,
    reason: string,
    code: ErrorCode,
  ): void {
    const allowed = this.context.admission.failedAttempt(this.connection.ip, name);
    this.context.log.event(
      `refused ${what} of ${quote(name)} from ${this.connection.address}: ${reason}` +
        (allowed ? "" : "; too many attempts"),
    );
    this.#error(re, allowed ? code : "rate_limited");
  }

  async #register(frame: RegisterRequest): Promise<void> {
    const { id: re, name } = frame;
    const identity = await this.#verifiedIdentity();
    if (typeof identity === "string" || identity.name !== name) {
      const reason = typeof identity === "string" ? identity : "certificate names another user";
      return this.#refuseAttempt(re, "registration", name, reason, "invalid_credentials");
    }
    // A key no peer could use (small order, non-canonical) is refused here,
    // where it enters; peers check it again, and check its binding.
    const weak = x25519KeyProblem(fromBase64Url(frame.encryption_key)!);
    if (weak !== null) return this.#refuseAttempt(re, "registration", name, weak, "invalid_format");
    // The encryption key and its binding are the user's to vouch for: peers
    // verify them (e2e/README.md); the server keeps them as given.
    const user = await this.context.store.createUser(name, {
      publicKey: identity.publicKey,
      certificate: this.connection.verifiedCertificate!,
      encryptionKey: fromBase64Url(frame.encryption_key)!,
      keyBinding: fromBase64Url(frame.binding)!,
    }, this.context.clock());
    if (user === null) {
      // The same user with the same key: a registration whose `ok` was lost
      // (the connection ended first) is finished, not refused.
      const existing = await this.context.store.findUser(name);
      if (existing === null || !equalBytes(existing.publicKey, identity.publicKey)) {
        return this.#refuseAttempt(re, "registration", name, "name taken", "user_exists");
      }
      this.context.log.event(
        `registered ${quote(name)} from ${this.connection.address} (again, same key)`,
      );
      return await this.#enter(re, existing, "registered", frame);
    }
    this.context.log.event(`registered ${quote(name)} from ${this.connection.address}`);
    await this.#enter(re, user, "registered", frame);
  }

  async #login(re: number, name: string, range: HistoryRange): Promise<void> {
    const identity = await this.#verifiedIdentity();
    const user = await this.context.store.findUser(name);
    let reason: string | null = null;
    if (typeof identity === "string") reason = identity;
    else if (identity.name !== name) reason = "certificate names another user";
    else if (user === null) reason = "no such user";
    else if (!equalBytes(identity.publicKey, user.publicKey)) {
      reason = "certificate key is not the registered key";
    } else if (this.context.bans.has(name)) reason = "banned by the operator";
    if (reason !== null || user === null) {
      return this.#refuseAttempt(re, "login", name, reason ?? "", "invalid_credentials");
    }
    await this.#enter(re, user, "authenticated", range);
  }

  /**
   * Claims the user's one session (cluster-wide), joins the hub, then streams
   * history up to that instant, then goes live.
   */
  async #enter(
    re: number,
    user: StoredUser,
    status: "registered" | "authenticated",
    range: HistoryRange,
  ) {
    if (!await this.context.roster.claim(user.name)) {
      this.context.log.event(
        `refused login of ${quote(user.name)} from ${this.connection.address}: already logged in`,
      );
      return this.#error(re, "already_logged_in");
    }
    if ((this.#state as State) === "closed") return this.#release(user.name);
    this.#user = user;
    if (!this.context.hub.join(this)) {
      this.#user = null;
      this.#release(user.name);
      return this.#error(re, "already_logged_in");
    }
    this.#state = "busy";
    this.connection.loggedIn(user.name);
    this.context.log.event(`login ${quote(user.name)} from ${this.connection.address}`);
    this.context.delivery.announce(user.name, "joined");
    this.#recordSeen(user);
    this.#send({ type: "ok", re, status });
    await this.#streamHistory(
      re,
      { after: range.after, last: range.last },
      range.last !== undefined,
    );
    if (this.#state === "busy") this.#state = "member";
  }

  /**
   * Streams the user's history in `range`, up to the newest message stored
   * now, then `history_end`; live messages wait behind it. A page is written,
   * the next one read only once the socket has drained: a login costs a page
   * of memory, not its history, and history is never counted as a slow
   * reader's backlog (only live traffic is).
   */
  async #streamHistory(re: number, range: HistoryRange, announce: boolean): Promise<void> {
    const user = this.#user!;
    const { store } = this.context;
    this.#held = [];
    // Everything committed now is history; what the hub brings meanwhile is
    // held back, and sent after it unless the history had it (another node's
    // message can be committed before this node has delivered it).
    const upToId = Math.min(await store.lastMessageId(), (range.before ?? Infinity) - 1);
    if ((this.#state as State) === "closed") return;
    let afterId = range.after ?? 0;
    let earlier = 0;
    if (range.last !== undefined) {
      ({ afterId, earlier } = await store.historyWindow(user, afterId, upToId, range.last));
    }
    if (announce) this.#send({ type: "history_start", re, earlier });
    let pageBytes = 0;
    for (;;) {
      const page = await store.historyPage(user, afterId, upToId, HISTORY_PAGE_ROWS);
      if ((this.#state as State) === "closed") return;
      for (const message of page) {
        const line = this.#encodeStored(message);
        if (line === null) continue;
        this.connection.sendPaced(line);
        pageBytes += line.length;
        if (pageBytes >= HISTORY_PAGE_BYTES) {
          pageBytes = 0;
          await this.connection.drained();
          if ((this.#state as State) === "closed") return;
        }
      }
      if (page.length < HISTORY_PAGE_ROWS) break;
      afterId = page[page.length - 1].id;
    }
    // Live lines that follow are counted against the slow-reader limit alone.
    await this.connection.drained();
    if ((this.#state as State) === "closed") return;
    this.#send({ type: "history_end", re });
    const held = this.#held ?? [];
    this.#held = null;
    this.#heldBytes = 0;
    this.#historyUpTo = Math.max(this.#historyUpTo, upToId);
    for (const [id, line] of held) if (id > upToId) this.connection.sendLine(line);
  }

  /** A stored message's frame, or null (logged) if it does not fit a frame. */
  #encodeStored(message: StoredMessage): string | null {
    try {
      return encodeServerFrame(messageFrame(message));
    } catch (error) {
      if (!(error instanceof FrameTooLongError)) throw error;
      this.context.log.event(`history message ${message.id} not sent: over the frame limit`);
      return null;
    }
  }

  /**
   * A message sent again after a lost connection: when it was stored the
   * first time, its sender gets that message as the echo (nobody gets it
   * twice) and true; false when it must be stored now.
   */
  async #echoStored(re: number, clientId: string): Promise<boolean> {
    await this.#posted(); // an earlier copy on this connection is committed first
    const stored = await this.context.store.findByClientId(this.#user!, clientId);
    if (stored === null) return false;
    this.#send({ ...messageFrame(stored), re });
    return true;
  }

  /** Commits (with others, server/committer.ts), then delivers: the echo is the acknowledgement. */
  #post(
    re: number,
    recipient: StoredUser | null,
    body: string,
    signature: string | null,
    clientId?: string,
  ): void {
    const user = this.#user!;
    const over = this.context.quotas.take(user.id, body.length + (signature?.length ?? 0));
    if (over !== null) {
      if (over.first) {
        this.context.log.event(
          `refused messages of ${quote(user.name)}: ${over.refusal.replaceAll("_", " ")}`,
        );
      }
      // After the echoes of the messages before it, as every reply.
      return this.#afterPosted(() => this.#error(re, over.refusal));
    }
    if (++this.#submitted - this.#delivered === MAX_UNPOSTED) this.connection.holdReading?.(true);
    this.context.committer.add({
      sender: user,
      recipient,
      body,
      signature,
      time: this.context.clock(),
      clientId: clientId ?? null,
    }, {
      member: this,
      re,
      done: (error) => {
        if (error !== undefined) {
          this.context.log.event(`cannot store a message: ${error.message}`);
          this.connection.close();
        }
        this.#onePosted();
      },
    });
  }

  #release(name: string): void {
    this.context.roster.release(name).catch((error) => {
      // The node's heartbeat stops when it cannot reach the database, and
      // its sessions are then free anyway.
      this.context.log.event(`cannot release the session of ${quote(name)}: ${error.message}`);
    });
  }

  /** The connection's certificate, checked once; its revocation, at every use. */
  async #verifiedIdentity(): Promise<ClientIdentity | string> {
    this.#identity ??= this.#verifyIdentity();
    const identity = await this.#identity;
    if (typeof identity === "string") return identity;
    if (this.context.revocations.has(identity.serial)) return "certificate revoked";
    this.#serial = identity.serial;
    return identity;
  }

  async #verifyIdentity(): Promise<ClientIdentity | string> {
    const der = this.connection.verifiedCertificate;
    if (der === null) {
      return this.connection.certificateProblem ?? "no client certificate";
    }
    try {
      return await this.context.certificates.verify(der);
    } catch (error) {
      if (error instanceof CertificateError) return error.message;
      throw error;
    }
  }

  #error(re: number | undefined, code: ErrorCode): void {
    this.#send(re === undefined ? { type: "error", code } : { type: "error", re, code });
  }

  /** Sends a frame, never one over the frame limit (the reader would have to drop us). */
  #send(frame: ServerFrame): void {
    let line: string;
    try {
      line = encodeServerFrame(frame);
    } catch (error) {
      if (!(error instanceof FrameTooLongError)) throw error;
      this.context.log.event(`not sent to ${this.connection.address}: ${error.message}`);
      if ("re" in frame && frame.re !== undefined) this.#error(frame.re, "too_long");
      return;
    }
    this.connection.sendLine(line);
  }

  #refuse(reason: string): void {
    this.context.log.event(`closed connection ${this.connection.address}: ${reason}`);
    this.connection.close();
    this.end();
  }
}

/** The request id of a frame that failed validation, when it has a usable one. */
function reId(line: Uint8Array): { re?: number } {
  try {
    const id = JSON.parse(new TextDecoder().decode(line)).id;
    return Number.isSafeInteger(id) && id > 0 ? { re: id } : {};
  } catch {
    return {};
  }
}
