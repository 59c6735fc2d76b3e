/**
 * The systems under test, behind one small interface for the load
 * generator: chat's protocol (chat itself and the floor server; mutual TLS,
 * signed and sealed messages, frames made and read by protocol/) and IRC
 * (RFC 1459/2812 over TLS, InspIRCd). Each connection reads with one buffer
 * and hands over delivered messages only; writes are batched per turn.
 */

import { newClientId } from "../client/outbox.ts";
import { bindEncryptionKey, generateEncryptionKeyPair, OwnKeys, Peer } from "../e2e/keys.ts";
import { sealPrivateMessage, signPublicMessage } from "../e2e/envelope.ts";
import { type Authority, createRequest, signRequest } from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
import { toBase64Url } from "../protocol/base64url.ts";
import { decodeServerFrame, encodeFrame, type ServerFrame } from "../protocol/frames.ts";
import { LineDecoder } from "../protocol/line_decoder.ts";
import { PROTOCOL_VERSIONS } from "../protocol/limits.ts";

/** Longest line the generator takes (history is empty in the bench). */
const MAX_READ_LINE_BYTES = 1024 * 1024;

/**
 * A system under test: "chat", "floor" (bench/floor.ts), "inspircd", or
 * "chat-before" (a baseline build of chat, `--before DIR`). All but InspIRCd
 * speak chat's protocol.
 */
export type SystemName = string;
export type WireProtocol = "chat" | "irc";

export function protocolOf(system: SystemName): WireProtocol {
  return system === "inspircd" ? "irc" : "chat";
}

export interface Target {
  system: SystemName;
  port: number;
  caCertificate: string;
  /** chat's protocol only: the CA, to certify bench users. */
  authority?: Authority;
}

/** One logged-in user of either system. */
export interface BenchConnection {
  readonly name: string;
  /**
   * Every delivered message (public or private): its text as received
   * (a private message's is its opaque payload) and the bytes of its line.
   */
  onMessage: (text: string, bytes: number) => void;
  sendPublic(text: string): void;
  sendPrivate(to: string, text: string): void;
  /**
   * The bytes `sendPublic`/`sendPrivate` would write, made ahead of a timed
   * phase so that signing and sealing do not slow the generator during it.
   */
  preparePublic(text: string): string;
  preparePrivate(to: string, text: string): string;
  /**
   * `texts.length` private messages to `to`, for a burst. chat's are sealed
   * once and sent with that payload each time (the server cannot tell: a
   * payload is opaque to it), since sealing hundreds of thousands of messages
   * took the generator minutes.
   */
  preparePrivateBurst(to: string, texts: string[]): string[];
  /** Writes what `prepare...` made. */
  sendPrepared(frame: string): void;
  /** Resolves when what was sent has been written to the socket. */
  flushed(): Promise<void>;
  close(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A TLS connection that splits what it reads into lines (bytes, without their "\n"). */
class LineTransport {
  readonly conn: Deno.TlsConn;
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #scheduled = false;
  onLine: (line: Uint8Array) => void = () => {};
  readonly closed: Promise<void>;

  constructor(conn: Deno.TlsConn) {
    this.conn = conn;
    this.closed = this.#read();
  }

  write(text: string): void {
    this.#pending.push(text);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  flushed(): Promise<void> {
    this.#flush();
    return this.#writing;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const bytes = encoder.encode(this.#pending.join(""));
    this.#pending = [];
    this.#writing = this.#writing.then(async () => {
      let offset = 0;
      while (offset < bytes.byteLength) offset += await this.conn.write(bytes.subarray(offset));
    }).catch(() => {});
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(256 * 1024);
    const lines = new LineDecoder(MAX_READ_LINE_BYTES);
    try {
      for (;;) {
        const n = await this.conn.read(buffer);
        if (n === null) return;
        for (const line of lines.push(buffer.subarray(0, n))) this.onLine(line);
      }
    } catch {
      // closed
    }
  }

  /** Waits for a line that matches; other lines go to `onLine` meanwhile. */
  waitFor(test: (line: Uint8Array) => boolean, timeoutMs = 30_000): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const previous = this.onLine;
      const timer = setTimeout(() => {
        this.onLine = previous;
        reject(new Error("timed out waiting for a reply"));
      }, timeoutMs);
      this.onLine = (line) => {
        if (test(line)) {
          clearTimeout(timer);
          this.onLine = previous;
          // A copy: the line is a view of the read buffer, which the next read overwrites.
          resolve(line.slice());
        } else previous(line);
      };
    });
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** A frame from a server that speaks chat's protocol, or null for one that is not valid. */
function decodeChatLine(line: Uint8Array): ServerFrame | null {
  try {
    return decodeServerFrame(line);
  } catch {
    return null;
  }
}

/** A chat user's keys, made and certified by the bench (it holds the CA). */
export interface ChatUser {
  name: string;
  certificate: string;
  key: string;
  own: OwnKeys;
}

export async function makeChatUser(name: string, authority: Authority): Promise<ChatUser> {
  const keys = await generateKeyPair();
  const certificate = await signRequest(authority, await createRequest(name, keys));
  const encryption = generateEncryptionKeyPair();
  const key = await exportPrivateKeyPem(keys.privateKey);
  const own = new OwnKeys(
    {
      name,
      identity: new Uint8Array(certificate.publicKey.rawData),
      encryption: encryption.publicKey,
    },
    key,
    encryption.privatePem,
  );
  return { name, certificate: certificate.toString("pem"), key, own };
}

/** A chat user as the bench drives it: frames as the chat client makes them, a cid on each message. */
class ChatConnection implements BenchConnection {
  onMessage: (text: string, bytes: number) => void = () => {};
  #nextId = 10;
  readonly #peers = new Map<string, Peer>();

  constructor(readonly transport: LineTransport, readonly user: ChatUser) {
    transport.onLine = (line) => {
      const frame = decodeChatLine(line);
      if (frame?.type === "public") this.onMessage(frame.text, line.byteLength + 1);
      else if (frame?.type === "private") this.onMessage(frame.payload, line.byteLength + 1);
    };
  }

  get name(): string {
    return this.user.name;
  }

  /** Peers to encrypt to (the bench knows every user's keys). */
  addPeer(user: ChatUser): void {
    this.#peers.set(user.name, new Peer(user.own.keys));
  }

  sendPublic(text: string): void {
    this.transport.write(this.preparePublic(text));
  }

  sendPrivate(to: string, text: string): void {
    this.transport.write(this.preparePrivate(to, text));
  }

  preparePublic(text: string): string {
    const signature = signPublicMessage(this.user.own, text);
    return encodeFrame({ type: "public", id: this.#nextId++, text, signature, cid: newClientId() });
  }

  preparePrivateBurst(to: string, texts: string[]): string[] {
    const payload = sealPrivateMessage(this.user.own, this.#peers.get(to)!, texts[0]);
    return texts.map(() =>
      encodeFrame({ type: "private", id: this.#nextId++, to, payload, cid: newClientId() })
    );
  }

  preparePrivate(to: string, text: string): string {
    const payload = sealPrivateMessage(this.user.own, this.#peers.get(to)!, text);
    return encodeFrame({ type: "private", id: this.#nextId++, to, payload, cid: newClientId() });
  }

  sendPrepared(frame: string): void {
    this.transport.write(frame);
  }

  flushed(): Promise<void> {
    return this.transport.flushed();
  }

  close(): void {
    this.transport.close();
  }
}

/** Opens a chat connection as `user` and registers or logs in (history shown). */
export async function chatConnect(
  target: Target,
  user: ChatUser,
  kind: "register" | "login",
): Promise<ChatConnection> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: target.port,
    caCerts: [target.caCertificate],
    cert: user.certificate,
    key: user.key,
  });
  await conn.handshake();
  const transport = new LineTransport(conn);
  const request = kind === "register"
    ? {
      type: "register" as const,
      id: 1,
      name: user.name,
      encryption_key: toBase64Url(user.own.keys.encryption),
      binding: toBase64Url(bindEncryptionKey(user.own)),
    }
    : { type: "login" as const, id: 1, name: user.name };
  const done = transport.waitFor((line) => {
    const type = decodeChatLine(line)?.type;
    return type === "history_end" || type === "error" || type === undefined;
  });
  transport.write(encodeFrame({ type: "hello", versions: [...PROTOCOL_VERSIONS] }));
  transport.write(encodeFrame(request));
  const reply = await done;
  if (decodeChatLine(reply)?.type !== "history_end") {
    transport.close();
    throw new Error(`${kind} ${user.name}: ${decoder.decode(reply)}`);
  }
  return new ChatConnection(transport, user);
}

class IrcConnection implements BenchConnection {
  onMessage: (text: string, bytes: number) => void = () => {};

  constructor(readonly transport: LineTransport, readonly name: string) {
    transport.onLine = (bytes) => {
      const line = decoder.decode(bytes);
      if (line.includes(" PRIVMSG ")) this.onMessage(line, bytes.byteLength + 1);
      else if (line.startsWith("PING ")) transport.write(`PONG ${line.slice(5).trimEnd()}\r\n`);
    };
  }

  sendPublic(text: string): void {
    this.transport.write(this.preparePublic(text));
  }

  sendPrivate(to: string, text: string): void {
    this.transport.write(this.preparePrivate(to, text));
  }

  preparePublic(text: string): string {
    return `PRIVMSG #bench :${text}\r\n`;
  }

  preparePrivateBurst(to: string, texts: string[]): string[] {
    return texts.map((text) => this.preparePrivate(to, text));
  }

  preparePrivate(to: string, text: string): string {
    return `PRIVMSG ${to} :${text}\r\n`;
  }

  sendPrepared(frame: string): void {
    this.transport.write(frame);
  }

  flushed(): Promise<void> {
    return this.transport.flushed();
  }

  close(): void {
    this.transport.write("QUIT :bench\r\n");
    this.transport.flushed().finally(() => this.transport.close());
  }
}

/** Opens an IRC connection as `nick`, waits for the welcome (001), and joins #bench if asked. */
export async function ircConnect(
  target: Target,
  nick: string,
  join: boolean,
): Promise<IrcConnection> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: target.port,
    caCerts: [target.caCertificate],
  });
  await conn.handshake();
  const transport = new LineTransport(conn);
  const text = (line: Uint8Array) => decoder.decode(line);
  const welcome = transport.waitFor((line) =>
    / 001 /.test(text(line)) || text(line).startsWith("ERROR")
  );
  transport.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
  const reply = text(await welcome);
  if (reply.startsWith("ERROR")) throw new Error(`${nick}: ${reply}`);
  if (join) {
    const joined = transport.waitFor((line) => / 366 /.test(text(line)));
    transport.write("JOIN #bench\r\n");
    await joined;
  }
  return new IrcConnection(transport, nick);
}
