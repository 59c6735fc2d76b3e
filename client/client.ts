/**
 * The client's state machine: anonymous (connected without a certificate),
 * then logged in as one user on a connection that presented that user's
 * certificate. Input lines are handled in order; /register and /login finish
 * (history shown) before the next line, messages are pipelined and their
 * echoes awaited at the end of input. Output keeps input order: every line
 * goes through one display queue, where messages wait for their checks.
 */

import { CliError } from "../cli/errors.ts";
import { bindEncryptionKey, fingerprint } from "../e2e/keys.ts";
import { sealPrivateMessage, signPublicMessage, VerificationError } from "../e2e/envelope.ts";
import type { Certificate } from "../pki/certificates.ts";
import { x509 } from "../pki/x509.ts";
import { toBase64Url } from "../protocol/base64url.ts";
import type { ClientFrame, KeysReply, ServerFrame } from "../protocol/frames.ts";
import { type Command, parseLine } from "./commands.ts";
import {
  ConnectError,
  type Credentials,
  type ServerAddress,
  ServerConnection,
} from "./connection.ts";
import { Inbox, keyProblem } from "./inbox.ts";
import { ownKeys, PeerDirectory } from "./peers.ts";
import { PinStore } from "./pins.ts";
import { VerifiedCache } from "./verified_cache.ts";
import { History } from "./history.ts";
import type { Signer } from "./registration.ts";
import { certifyNewKeys, type EnrolmentContext, finishEnrolment } from "./enrolment.ts";
import { Output } from "./output.ts";
import { Outbox, type OutgoingMessage, reconnectDelay } from "./outbox.ts";
import { AUTHENTICATION_SUCCEEDED, REGISTRATION_SUCCEEDED, REPLIES } from "./render.ts";
import {
  CredentialsError,
  type KeyStore,
  PasswordNeededError,
  type StagedKeys,
  type StagedRegistration,
} from "./store.ts";
import type { Ui } from "./tui.ts";

/** A logged-in client pings this often, well inside the server's idle timeout (15 min). */
export const KEEPALIVE_MS = 60_000;

export const CLIENT_HELP = [
  "commands:",
  "  /register NAME [PASSWORD]   register, log in and show the history",
  "  /login NAME [PASSWORD]      log in and show the history",
  "  /users                      list the users online now",
  "  /msg NAME MESSAGE           the same as @NAME MESSAGE",
  "  /me ACTION                  a public action, shown as * NAME ACTION",
  "  /fingerprint [NAME]         your key fingerprint, or NAME's, to compare out of band",
  "  /trust NAME                 accept NAME's new key after checking its fingerprint",
  "  /history [N]                the N messages before the oldest shown (default 100)",
  "  /exit, /quit                log out and quit (end of input does the same)",
  "  @NAME MESSAGE               private message to NAME (end-to-end encrypted)",
  "  MESSAGE                     public message to everyone (signed)",
];

export interface ClientOptions {
  /** The most recent messages a login shows (client/history.ts); null: all. */
  historyWindow?: number | null;
  address: ServerAddress;
  store: KeyStore;
  caCertificate: string;
  sign: Signer;
  ui: Ui;
}

/** What a logged-in user has: their keys, their peers' keys, their inbox. */
interface Session {
  name: string;
  /** The keys it logged in with, kept to log in again after a lost connection. */
  credentials: Credentials;
  /** The live connection; replaced when the client reconnects. */
  connection: ServerConnection;
  directory: PeerDirectory;
  inbox: Inbox;
  /** The window shown at login, the store of verified messages, /history. */
  history: History;
  /** The newest message id shown: what a history after reconnecting repeats is skipped. */
  lastShownId: number;
  /** Runs when the server accepts, before the history is shown (keeps staged keys). */
  accepted?: () => Promise<void>;
}

/** SPEC section 2's words for a lost connection (exact). */
export const CONNECTION_LOST = "error: connection to the server lost; reconnecting";
export const RECONNECTED = "reconnected to the server";
/** At end of input, how long to wait for a lost server to come back before giving up. */
export const FINISH_RECONNECT_MS = 60_000;

type Request = ClientFrame & { id: number };

export class ChatClient {
  readonly #options: ClientOptions;
  readonly #ca: Certificate;
  #connection: ServerConnection | null = null;
  #session: Session | null = null;
  /** The session being entered: history for it arrives before it is live. */
  #entering: Session | null = null;
  #nextId = 1;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  /** Names of a `users` reply that comes in several frames, by request id. */
  readonly #users = new Map<number, string[]>();
  /** Ids of key fetches in flight. */
  readonly #keyFetches = new Set<number>();
  /** Ids of `users` requests made for completion, not shown. */
  readonly #silentUsers = new Set<number>();
  /** Who is online, for Tab completion: from `users` replies and presence. */
  readonly #online = new Set<string>();
  /**
   * Keys unlocked in this run, in memory only: a password is asked for once
   * per run, so logging in again (or reconnecting) asks nothing.
   */
  readonly #unlocked = new Map<string, Credentials>();
  /** Every output line passes through here, in order. */
  readonly #output: Output;
  /** Messages not yet acknowledged, sent again after a reconnection. */
  readonly #outbox = new Outbox();
  /** While reconnecting: resolves once logged in again (or given up). */
  #reconnecting: Promise<void> | null = null;
  /** The login request of a reconnection: its replies are not shown as answers. */
  #reconnectLogin: number | null = null;
  #finishing = false;
  /** Set when the client gave up on the connection (it cannot log in again). */
  #lost: string | null = null;
  #onLost!: () => void;
  /** Resolves when the live connection ends without our asking. */
  readonly disconnected: Promise<void> = new Promise((resolve) => this.#onLost = resolve);

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#output = new Output(options.ui);
    this.#ca = new x509.X509Certificate(options.caCertificate);
    options.ui.setOnline(() => [...this.#online]);
  }

  /** Opens the anonymous connection; throws ConnectError. */
  async connect(): Promise<void> {
    this.#connection = await this.#open(null);
  }

  get lost(): string | null {
    return this.#lost;
  }

  /** Handles one input line. Returns false when the client should stop. */
  async execute(line: string): Promise<boolean> {
    if (this.#lost !== null) return false;
    const command = parseLine(line);
    if (command.kind === "error") {
      await this.#output.reply(command.reply);
      if (command.hint !== undefined) this.#output.print(`hint: ${command.hint}`);
      return true;
    }
    try {
      return await this.#run(command);
    } catch (error) {
      // A refusal of the local files (a planted symbolic link) stops the client on purpose;
      // anything else that fails in one command (a peer's unusable key) never ends it.
      if (error instanceof CliError) throw error;
      const what = error instanceof VerificationError ? "warning" : "error";
      await this.#output.reply(`${what}: ${describeFailure(command.kind, error)}`);
      return this.#lost === null;
    }
  }

  /** End of input or /exit: wait (bounded) for replies, log out, close. */
  async finish(): Promise<void> {
    if (this.#reconnecting !== null && this.#outbox.size > 0) {
      // What was typed is sent once the server is back: wait for it, bounded.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise((resolve) => timer = setTimeout(resolve, FINISH_RECONNECT_MS));
      await Promise.race([this.#reconnecting, late]);
      clearTimeout(timer);
    }
    this.#finishing = true;
    clearInterval(this.#keepalive);
    await this.#output.settle();
    if (this.#outbox.size > 0 && this.#lost === null) {
      this.#lost = "messages not sent";
      this.#output.print(
        `error: ${this.#outbox.size} message(s) not sent: the server did not come back in time`,
      );
    }
    await this.#session?.inbox.flush();
    await this.#session?.history.close();
    const connection = this.#connection;
    this.#connection = null;
    await connection?.close(true);
  }

  async #run(command: Command): Promise<boolean> {
    switch (command.kind) {
      case "empty":
        return true;
      case "help":
        await this.#output.settle();
        for (const line of CLIENT_HELP) this.#output.print(line);
        return true;
      case "exit":
        return false;
      case "register":
      case "login":
        if (this.#session !== null) {
          await this.#output.reply(REPLIES.not_available);
          return true;
        }
        if (command.kind === "register") await this.#register(command.name, command.password);
        else await this.#login(command.name, command.password);
        return this.#lost === null;
    }
    const session = this.#session;
    if (session === null) {
      await this.#output.reply(REPLIES.not_available);
      return true;
    }
    switch (command.kind) {
      case "users":
        this.#pipeline(session, { type: "users", id: this.#nextId++ });
        return true;
      case "public": {
        const signature = signPublicMessage(session.directory.me, command.text);
        this.#sendMessage(session, { type: "public", text: command.text, signature });
        return true;
      }
      case "private":
        await this.#sendPrivate(session, command.to, command.text);
        return true;
      case "fingerprint":
        await this.#showFingerprint(session, command.name);
        return true;
      case "trust":
        await this.#trust(session, command.name);
        return true;
      case "history": {
        // Waited for: the next /history continues from the oldest message this one shows.
        await this.#output.settle();
        const request = session.history.request(this.#nextId++, command.count);
        const reply = session.connection.request(request);
        this.#output.track(reply);
        await reply;
        await this.#output.shown();
        return true;
      }
    }
  }

  /** Encrypts to the recipient's checked, pinned keys, or says why not. */
  async #sendPrivate(session: Session, to: string, text: string): Promise<void> {
    const lookup = await session.directory.lookup(to);
    if (lookup.kind === "unknown") return await this.#output.reply(REPLIES.user_not_found);
    if (lookup.kind !== "ok") {
      return await this.#output.reply(
        `warning: message to ${to} not sent: ${keyProblem(lookup, to)}`,
      );
    }
    const payload = sealPrivateMessage(session.directory.me, lookup.peer, text);
    this.#sendMessage(session, { type: "private", to, payload });
  }

  async #showFingerprint(session: Session, name: string | undefined): Promise<void> {
    if (name === undefined) {
      return await this.#output.reply(
        `your fingerprint: ${fingerprint(session.directory.me.keys)}`,
      );
    }
    const lookup = await session.directory.lookup(name);
    switch (lookup.kind) {
      case "ok":
        return await this.#output.reply(`${name}'s fingerprint: ${lookup.fingerprint}`);
      case "changed":
        return await this.#output.reply(
          `warning: ${name}'s fingerprint is now ${lookup.fingerprint}; ` +
            `you trusted ${lookup.pinned}. If ${name} confirms the new one, run /trust ${name}`,
        );
      case "unknown":
        return await this.#output.reply(REPLIES.user_not_found);
      case "invalid":
        return await this.#output.reply(
          `warning: the server's keys for ${name} are not valid (${lookup.reason})`,
        );
    }
  }

  async #trust(session: Session, name: string): Promise<void> {
    const lookup = await session.directory.trust(name);
    if (lookup.kind === "ok") {
      return await this.#output.reply(`${name}'s key is trusted: ${lookup.fingerprint}`);
    }
    if (lookup.kind === "unknown") return await this.#output.reply(REPLIES.user_not_found);
    await this.#output.reply(`warning: ${keyProblem(lookup, name)}`);
  }

  async #register(name: string, typed: string | undefined): Promise<void> {
    const store = this.#options.store;
    const context: EnrolmentContext = { ...this.#options, output: this.#output };
    let password = typed;
    let credentials: Credentials | null;
    let staged: StagedRegistration;
    // The second /register of an enrolment through files (enrolment.ts).
    const enrolled = await finishEnrolment(context, name, typed);
    if (enrolled === null) return;
    if (enrolled !== "none") {
      ({ credentials, password } = enrolled);
      staged = await store.stage(name, credentials, password);
      return await this.#submit(name, credentials, staged, true);
    }
    if (password === undefined) {
      await this.#output.settle();
      const asked = await this.#askNewPassword(name);
      if (asked === null) return;
      password = asked === "" ? undefined : asked;
    }
    // Keys staged by a registration whose outcome this client never learnt
    // (its `ok` was lost with the connection) are tried again, not replaced:
    // the server may hold them already, and then completes the registration.
    let pending: StagedKeys | null;
    try {
      pending = await store.staged(name, password);
    } catch (error) {
      if (!(error instanceof CredentialsError)) throw error;
      await this.#output.reply(REPLIES.invalid_credentials);
      this.#output.print(
        `hint: keys of an unfinished registration of ${name} are waiting; give the password used then`,
      );
      return;
    }
    if (pending !== null) {
      ({ credentials, registration: staged } = pending);
    } else {
      credentials = await certifyNewKeys(context, name, password);
      if (credentials === null) return;
      staged = await store.stage(name, credentials, password);
    }
    await this.#submit(name, credentials, staged, false);
  }

  /** Registers `name` with staged keys; `enrolled` when they came through files. */
  async #submit(
    name: string,
    credentials: Credentials,
    staged: StagedRegistration,
    enrolled: boolean,
  ): Promise<void> {
    const store = this.#options.store;
    let committed = false;
    const accepted = async () => {
      await staged.commit();
      committed = true;
    };
    const outcome = await this.#enter("register", name, credentials, accepted);
    if (committed) {
      this.#unlocked.set(name, credentials);
      await store.removeStaged(name);
      if (enrolled) await store.endEnrolment(name);
      return;
    }
    if (outcome === "refused") return await staged.abandon();
    // The server may have stored it: keep the keys until we know.
    this.#output.print(
      `hint: the server may have registered ${name}; /register ${name} again finishes it ` +
        "with the same keys",
    );
  }

  /**
   * At a terminal, an optional password for a new key, typed twice; "" for
   * none (also in pipe mode, where nothing is asked); null when cancelled.
   */
  async #askNewPassword(name: string): Promise<string | null> {
    const ui = this.#options.ui;
    const first = await ui.askSecret(`password for ${name}'s new key (Enter for none): `);
    if (first === null) return "";
    if (first === "") return "";
    const again = await ui.askSecret("the same password again: ");
    if (again === first) return first;
    this.#output.print("error: registration cancelled: the two passwords differ");
    return null;
  }

  async #login(name: string, typed: string | undefined): Promise<void> {
    const store = this.#options.store;
    let credentials: Credentials & { staged?: string };
    const unlocked = this.#unlocked.get(name);
    if (unlocked !== undefined && typed === undefined) credentials = unlocked;
    else {
      let password = typed;
      try {
        credentials = await store.load(name, password).catch(async (error) => {
          if (!(error instanceof PasswordNeededError)) throw error;
          await this.#output.settle();
          password = await this.#options.ui.askSecret(`password for ${name}: `) ?? undefined;
          if (password === undefined) throw error;
          return await store.load(name, password);
        });
      } catch (error) {
        if (!(error instanceof CredentialsError)) throw error;
        await this.#output.reply(REPLIES.invalid_credentials);
        if (error instanceof PasswordNeededError) {
          this.#output.print(`hint: ${name}'s key is encrypted: /login ${name} PASSWORD`);
        }
        return;
      }
    }
    // Keys of a registration the server accepted but this client did not
    // finish (it was killed) become the user's keys once they log in.
    const staged = credentials.staged;
    const adopt = staged === undefined ? undefined : () => store.adopt(name, staged);
    if (await this.#enter("login", name, credentials, adopt) === "entered") {
      await store.removeStaged(name);
      if (staged === undefined) this.#unlocked.set(name, credentials);
    }
  }

  /**
   * Opens a connection with the user's certificate and registers or logs in
   * on it; on success it replaces the anonymous connection. "refused": the
   * server said no (or never saw the request); "lost": the connection ended
   * before the answer, so the request may or may not have been done.
   */
  async #enter(
    kind: "register" | "login",
    name: string,
    credentials: Credentials,
    accepted?: () => Promise<void>,
  ): Promise<"entered" | "refused" | "lost"> {
    // The store of verified messages is read while the connection is made.
    const history = new History(this.#options.store.userFolder(name), name, credentials, {
      window: this.#options.historyWindow,
      fresh: kind === "register",
    });
    let connection: ServerConnection;
    try {
      connection = await this.#open(credentials);
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      await this.#output.reply(`error: cannot connect to the server: ${error.message}`);
      if (error.hint) this.#output.print(`hint: ${error.hint}`);
      return "refused";
    }
    const me = ownKeys(name, credentials);
    const directory = new PeerDirectory(
      me,
      this.#ca,
      new PinStore(this.#options.store.userFolder(name)),
      (peer) => this.#fetchKeys(session, peer),
    );
    const folder = this.#options.store.userFolder(name);
    const inbox = new Inbox(directory, new VerifiedCache(folder));
    const session: Session = {
      name,
      credentials,
      connection,
      directory,
      inbox,
      history,
      lastShownId: 0,
      accepted,
    };
    this.#entering = session;
    const id = this.#nextId++;
    const request: Request = kind === "register"
      ? {
        type: "register",
        id,
        name,
        encryption_key: toBase64Url(me.keys.encryption),
        binding: toBase64Url(bindEncryptionKey(me)),
      }
      : { type: "login", id, name };
    Object.assign(request, await history.begin(id, inbox));
    const reply = await connection.request(request);
    const anonymous = this.#connection;
    if (reply?.type === "history_end") {
      // Live: what arrives from now on belongs to this session, without a gap.
      this.#connection = connection;
      this.#session = session;
    }
    this.#entering = null;
    await this.#output.shown();
    await inbox.flush();
    if (reply?.type !== "history_end") {
      if (reply === null) {
        this.#output.print(`error: ${connection.endReason ?? "the server closed the connection"}`);
      }
      await connection.close();
      // A name taken by other keys, or keys the server refuses: they will never do.
      const final = reply?.type === "error" &&
        (reply.code === "user_exists" || reply.code === "invalid_credentials");
      return final ? "refused" : "lost";
    }
    this.#options.ui.setUser(name);
    this.#requestOnlineNames(connection);
    this.#startKeepalive(session);
    await anonymous?.close(true);
    return "entered";
  }

  /** Asks, without showing the reply, who is online (for completion; presence keeps it current). */
  #requestOnlineNames(connection: ServerConnection): void {
    const users = this.#nextId++;
    this.#silentUsers.add(users);
    connection.request({ type: "users", id: users });
  }

  #startKeepalive(session: Session): void {
    clearInterval(this.#keepalive);
    this.#keepalive = setInterval(
      () => session.connection.request({ type: "ping", id: this.#nextId++ }),
      KEEPALIVE_MS,
    );
  }

  async #fetchKeys(session: Session, name: string): Promise<KeysReply | null> {
    await this.#live(session);
    const id = this.#nextId++;
    this.#keyFetches.add(id);
    const reply = await session.connection.request({ type: "keys", id, name });
    this.#keyFetches.delete(id);
    if (reply?.type === "keys") return reply;
    if (reply?.type === "error" && reply.code === "user_not_found") return null;
    throw new Error(reply === null ? "connection closed" : `unexpected ${reply.type} reply`);
  }

  /** Sends a request without waiting; its reply is awaited before local replies and at the end. */
  #pipeline(session: Session, request: Request): void {
    this.#output.track(this.#live(session).then(() => session.connection.request(request)));
  }

  /** Resolves when `session` has a live connection again (at once when it has one). */
  async #live(session: Session): Promise<void> {
    while (session.connection.endReason !== null && this.#reconnecting !== null) {
      await this.#reconnecting;
    }
  }

  /** Sends a message now, or after reconnecting; its echo acknowledges it. */
  #sendMessage(session: Session, message: OutgoingMessage): void {
    const { cid, acknowledged } = this.#outbox.add(message);
    this.#output.track(acknowledged);
    if (this.#reconnecting === null) this.#transmit(session, cid);
  }

  #transmit(session: Session, cid: string): void {
    const frame = this.#outbox.frame(cid, this.#nextId++);
    if (frame === null) return;
    session.connection.request(frame as Request).then((reply) => {
      // No reply: the connection was lost; the message goes again after reconnecting.
      if (reply !== null) this.#outbox.acknowledge(cid);
    });
  }

  /**
   * Logs in again after a lost connection, with the same keys, waiting about
   * 1 s doubling to 30 s between attempts; then sends what was never
   * acknowledged. Gives up only when the server refuses the identity
   * (banned, revoked) or the input has ended and the wait is over.
   */
  #reconnect(session: Session): void {
    if (this.#reconnecting !== null) return;
    clearInterval(this.#keepalive);
    this.#output.enqueue(() => [CONNECTION_LOST]);
    const reconnecting: Promise<void> = (async () => {
      for (let attempt = 0; !this.#finishing; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt)));
        if (this.#finishing) break;
        let connection: ServerConnection;
        try {
          connection = await this.#open(session.credentials);
        } catch (error) {
          if (error instanceof ConnectError) continue;
          throw error;
        }
        const previous = session.connection;
        session.connection = connection;
        const id = this.#nextId++;
        this.#reconnectLogin = id;
        // Only what came after the last message shown: the rest was seen.
        const reply = await connection.request({
          type: "login",
          id,
          name: session.name,
          after: Math.max(session.lastShownId, session.history.newest),
        });
        await this.#output.shown();
        if (reply?.type === "history_end") {
          this.#reconnecting = null;
          this.#reconnectLogin = null;
          this.#connection = connection;
          this.#requestOnlineNames(connection);
          this.#startKeepalive(session);
          for (const cid of this.#outbox.pending()) this.#transmit(session, cid);
          return;
        }
        session.connection = previous;
        await connection.close();
        if (reply?.type === "error" && reply.code === "invalid_credentials") {
          // Banned or revoked: trying again cannot help.
          this.#lost = "invalid credentials";
          this.#output.print(REPLIES.invalid_credentials);
          this.#output.print(`hint: the server no longer accepts ${session.name}'s key`);
          this.#onLost();
          return;
        }
      }
    })().finally(() => {
      if (this.#reconnecting !== reconnecting) return;
      this.#reconnecting = null;
      this.#reconnectLogin = null;
    });
    this.#reconnecting = reconnecting;
  }

  #open(credentials: Credentials | null): Promise<ServerConnection> {
    return ServerConnection.open(
      this.#options.address,
      this.#options.caCertificate,
      credentials,
      (frame, connection) => this.#show(frame, connection),
      (connection, reason) => {
        if (reason === null || connection !== this.#connection) return;
        if (this.#session === null) {
          // The anonymous connection carries nothing; /register and /login
          // open their own. The server may close it (login timeout).
          this.#connection = null;
          return;
        }
        if (connection !== this.#session.connection) return;
        if (connection.broken) {
          // A server that breaks the protocol is not one to keep calling.
          clearInterval(this.#keepalive);
          this.#lost = reason;
          this.#output.enqueue(() => [`error: disconnected: ${reason}`]);
          this.#onLost();
          return;
        }
        this.#reconnect(this.#session);
      },
    );
  }

  #show(frame: ServerFrame, connection: ServerConnection): void {
    switch (frame.type) {
      case "history_start":
      case "history_end": {
        const session = [this.#session, this.#entering].find((s) => s?.connection === connection);
        if (!session) return;
        return this.#output.enqueue(() =>
          frame.type === "history_start"
            ? session.history.start(frame)
            : session.history.end(frame.re)
        );
      }
      case "hello":
      case "keys":
      case "pong":
        return;
      case "ok": {
        if (frame.re === this.#reconnectLogin) {
          return this.#output.enqueue(() => [RECONNECTED]);
        }
        const accepted = this.#entering?.connection === connection
          ? this.#entering.accepted
          : undefined;
        return this.#output.enqueue(async () => {
          await accepted?.();
          return [
            frame.status === "registered" ? REGISTRATION_SUCCEEDED : AUTHENTICATION_SUCCEEDED,
          ];
        });
      }
      case "error":
        // A key fetch's caller reports its errors in its own words, a reconnection too.
        if (frame.re !== undefined && this.#keyFetches.has(frame.re)) return;
        if (frame.re !== undefined && frame.re === this.#reconnectLogin) return;
        return this.#output.enqueue(() => [REPLIES[frame.code]]);
      case "users": {
        const names = [...(this.#users.get(frame.re) ?? []), ...frame.names];
        if (frame.more) return void this.#users.set(frame.re, names);
        this.#users.delete(frame.re);
        this.#online.clear();
        for (const name of names) this.#online.add(name);
        if (this.#silentUsers.delete(frame.re)) return;
        return this.#output.enqueue(() => [names.join(" ")]);
      }
      case "presence":
        // A notice, not a message: shown as it comes, never kept as history.
        if (this.#session?.connection !== connection) return;
        if (frame.event === "joined") this.#online.add(frame.name);
        else this.#online.delete(frame.name);
        return this.#output.enqueue(() => [`* ${frame.name} ${frame.event}`]);
      case "public":
      case "private": {
        const session = [this.#session, this.#entering].find((s) => s?.connection === connection);
        if (!session) return;
        // Shown already: a resend's echo (the stored message) repeats it. A
        // history after reconnecting starts after the newest shown, and
        // /history brings older ones on purpose.
        if (frame.re !== undefined && frame.id <= session.lastShownId) return;
        session.lastShownId = Math.max(session.lastShownId, frame.id);
        return this.#output.enqueue(() =>
          session.history.take(frame, (f) => session.inbox.check(f))
        );
      }
    }
  }
}

/** A failed command in one line: what was tried, and why, without a stack. */
function describeFailure(kind: Command["kind"], error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  const what = kind === "private" || kind === "public" ? "message not sent" : `/${kind} failed`;
  return `${what}: ${reason.split("\n")[0]}`;
}
