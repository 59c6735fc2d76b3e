/**
 * The client's state machine: anonymous (connected without a certificate),
 * then logged in as one user on a connection that presented that user's
 * certificate. Input lines are handled in order; /register and /login finish
 * (history shown) before the next line, messages are pipelined and their
 * echoes awaited at the end of input.
 */

import type { ServerFrame } from "../protocol/frames.ts";
import { type Command, parseLine } from "./commands.ts";
import {
  ConnectError,
  type Credentials,
  type Reply,
  type ServerAddress,
  ServerConnection,
} from "./connection.ts";
import { obtainCredentials, RegistrationError, type Signer } from "./registration.ts";
import {
  AUTHENTICATION_SUCCEEDED,
  neutralise,
  REGISTRATION_SUCCEEDED,
  renderPrivate,
  renderPublic,
  REPLIES,
} from "./render.ts";
import { CredentialsError, type KeyStore } from "./store.ts";
import type { Ui } from "./tui.ts";

/** At end of input, how long to wait for replies to what was sent. */
export const DRAIN_TIMEOUT_MS = 10_000;

export const CLIENT_HELP = [
  "commands:",
  "  /register NAME [PASSWORD]   register, log in and show the history",
  "  /login NAME [PASSWORD]      log in and show the history",
  "  /users                      list the users online now",
  "  /exit                       log out and quit (end of input does the same)",
  "  @NAME MESSAGE               private message to NAME",
  "  MESSAGE                     public message to everyone",
];

export interface ClientOptions {
  address: ServerAddress;
  store: KeyStore;
  caCertificate: string;
  sign: Signer;
  ui: Ui;
}

export class ChatClient {
  readonly #options: ClientOptions;
  #connection: ServerConnection | null = null;
  #user: string | null = null;
  #nextId = 1;
  readonly #outstanding = new Set<Promise<Reply>>();
  /** Set when the live connection ended without our asking. */
  #lost: string | null = null;
  #onLost!: () => void;
  /** Resolves when the live connection ends without our asking. */
  readonly disconnected: Promise<void> = new Promise((resolve) => this.#onLost = resolve);

  constructor(options: ClientOptions) {
    this.#options = options;
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
      await this.#reply(command.reply);
      return true;
    }
    return await this.#run(command);
  }

  /** End of input or /exit: wait (bounded) for replies, log out, close. */
  async finish(): Promise<void> {
    await this.#settle();
    const connection = this.#connection;
    this.#connection = null;
    await connection?.close(true);
  }

  /** Waits (bounded) until every request sent so far has its reply. */
  async #settle(): Promise<void> {
    if (this.#outstanding.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise((resolve) => timer = setTimeout(resolve, DRAIN_TIMEOUT_MS));
    await Promise.race([Promise.all(this.#outstanding), timeout]);
    clearTimeout(timer);
  }

  /** A reply made here, printed after the replies to earlier lines: output follows input order. */
  async #reply(line: string): Promise<void> {
    await this.#settle();
    this.#print(line);
  }

  async #run(command: Command): Promise<boolean> {
    switch (command.kind) {
      case "empty":
        return true;
      case "help":
        await this.#settle();
        for (const line of CLIENT_HELP) this.#print(line);
        return true;
      case "exit":
        return false;
      case "register":
      case "login":
        if (this.#user !== null) {
          await this.#reply(REPLIES.not_available);
          return true;
        }
        if (command.kind === "register") await this.#register(command.name, command.password);
        else await this.#login(command.name, command.password);
        return this.#lost === null;
      case "users":
        return await this.#send((id) => ({ type: "users", id }));
      case "public":
        return await this.#send((id) => ({ type: "public", id, text: command.text }));
      case "private":
        // Until end-to-end encryption lands, the payload is the text (inside TLS).
        return await this.#send((id) => ({
          type: "private",
          id,
          to: command.to,
          payload: command.text,
        }));
    }
  }

  async #send(
    makeFrame: (id: number) => Parameters<ServerConnection["request"]>[0],
  ): Promise<boolean> {
    if (this.#user === null || this.#connection === null) {
      await this.#reply(REPLIES.not_available);
      return true;
    }
    const reply = this.#connection.request(makeFrame(this.#nextId++));
    this.#outstanding.add(reply);
    reply.then(() => this.#outstanding.delete(reply));
    return true;
  }

  async #register(name: string, password: string | undefined): Promise<void> {
    let credentials: Credentials;
    try {
      credentials = await obtainCredentials(name, this.#options.sign, this.#options.caCertificate);
    } catch (error) {
      if (!(error instanceof RegistrationError)) throw error;
      this.#print(`error: registration failed: ${error.message}`);
      return;
    }
    const staged = await this.#options.store.stage(name, credentials, password);
    const entered = await this.#enter("register", name, credentials);
    if (entered) await staged.commit();
    else await staged.abandon();
  }

  async #login(name: string, password: string | undefined): Promise<void> {
    let credentials: Credentials;
    try {
      credentials = await this.#options.store.load(name, password);
    } catch (error) {
      if (!(error instanceof CredentialsError)) throw error;
      this.#print(REPLIES.invalid_credentials);
      return;
    }
    await this.#enter("login", name, credentials);
  }

  /**
   * Opens a connection with the user's certificate and registers or logs in
   * on it; on success it replaces the anonymous connection.
   */
  async #enter(
    kind: "register" | "login",
    name: string,
    credentials: Credentials,
  ): Promise<boolean> {
    let connection: ServerConnection;
    try {
      connection = await this.#open(credentials);
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      this.#print(`error: cannot connect to the server: ${error.message}`);
      return false;
    }
    const reply = await connection.request({ type: kind, id: this.#nextId++, name });
    if (reply?.type !== "history_end") {
      if (reply === null) this.#print("error: the server closed the connection");
      await connection.close();
      return false;
    }
    const anonymous = this.#connection;
    this.#connection = connection;
    this.#user = name;
    this.#options.ui.setUser(name);
    await anonymous?.close(true);
    return true;
  }

  #open(credentials: Credentials | null): Promise<ServerConnection> {
    return ServerConnection.open(
      this.#options.address,
      this.#options.caCertificate,
      credentials,
      (frame) => this.#show(frame),
      (connection, reason) => {
        if (reason !== null && connection === this.#connection) {
          this.#lost = reason;
          this.#print(`error: disconnected: ${reason}`);
          this.#onLost();
        }
      },
    );
  }

  #show(frame: ServerFrame): void {
    switch (frame.type) {
      case "hello":
      case "history_end":
        return;
      case "ok":
        return this.#print(
          frame.status === "registered" ? REGISTRATION_SUCCEEDED : AUTHENTICATION_SUCCEEDED,
        );
      case "error":
        return this.#print(REPLIES[frame.code]);
      case "users":
        return this.#print(frame.names.join(" "));
      case "public":
        return this.#print(renderPublic(frame.time, frame.from, frame.text));
      case "private":
        return this.#print(renderPrivate(frame.time, frame.from, frame.to, frame.payload));
    }
  }

  #print(line: string): void {
    this.#options.ui.print(neutralise(line));
  }
}
