/**
 * The two systems under test, behind one small interface for the load
 * generator: chat (its own protocol, mutual TLS, signed and sealed messages)
 * and an IRC server (RFC 1459/2812 over TLS). Each connection reads with one
 * buffer and hands over message lines only; writes are batched per turn.
 */

import { bindEncryptionKey, generateEncryptionKeyPair, OwnKeys, Peer } from "../e2e/keys.ts";
import { sealPrivateMessage, signPublicMessage } from "../e2e/envelope.ts";
import { type Authority, createRequest, signRequest } from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
import { toBase64Url } from "../protocol/base64url.ts";

export type SystemName = "chat" | "inspircd";

export interface Target {
  system: SystemName;
  port: number;
  caCertificate: string;
  /** chat only: the CA, to certify bench users. */
  authority?: Authority;
}

/** One logged-in user of either system. */
export interface BenchConnection {
  readonly name: string;
  /** Every delivered message line (public or private), as received. */
  onMessage: (line: string) => void;
  sendPublic(text: string): void;
  sendPrivate(to: string, text: string): void;
  /**
   * The bytes `sendPublic`/`sendPrivate` would write, made ahead of a timed
   * phase so that signing and sealing do not slow the generator during it.
   */
  preparePublic(text: string): string;
  preparePrivate(to: string, text: string): string;
  /** Writes what `prepare...` made. */
  sendPrepared(frame: string): void;
  /** Resolves when what was sent has been written to the socket. */
  flushed(): Promise<void>;
  close(): void;
}

const encoder = new TextEncoder();

/** A TLS connection that splits what it reads into lines. */
class LineTransport {
  readonly conn: Deno.TlsConn;
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #scheduled = false;
  onLine: (line: string) => void = () => {};
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
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for (;;) {
        const n = await this.conn.read(buffer);
        if (n === null) return;
        const text = partial + decoder.decode(buffer.subarray(0, n), { stream: true });
        let start = 0;
        for (;;) {
          const end = text.indexOf("\n", start);
          if (end === -1) break;
          this.onLine(text.slice(start, end));
          start = end + 1;
        }
        partial = text.slice(start);
      }
    } catch {
      // closed
    }
  }

  /** Waits for a line that matches; other lines go to `onLine` meanwhile. */
  waitFor(test: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
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
          resolve(line);
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

class ChatConnection implements BenchConnection {
  onMessage: (line: string) => void = () => {};
  #nextId = 10;
  readonly #peers = new Map<string, Peer>();

  constructor(readonly transport: LineTransport, readonly user: ChatUser) {
    transport.onLine = (line) => {
      if (line.startsWith('{"type":"public"') || line.startsWith('{"type":"private"')) {
        this.onMessage(line);
      }
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
    return JSON.stringify({ type: "public", id: this.#nextId++, text, signature }) + "\n";
  }

  preparePrivate(to: string, text: string): string {
    const payload = sealPrivateMessage(this.user.own, this.#peers.get(to)!, text);
    return JSON.stringify({ type: "private", id: this.#nextId++, to, payload }) + "\n";
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
      type: "register",
      id: 1,
      name: user.name,
      encryption_key: toBase64Url(user.own.keys.encryption),
      binding: toBase64Url(bindEncryptionKey(user.own)),
    }
    : { type: "login", id: 1, name: user.name };
  const done = transport.waitFor((line) =>
    line.startsWith('{"type":"history_end"') || line.startsWith('{"type":"error"')
  );
  transport.write(JSON.stringify({ type: "hello", versions: [1] }) + "\n");
  transport.write(JSON.stringify(request) + "\n");
  const reply = await done;
  if (!reply.startsWith('{"type":"history_end"')) {
    transport.close();
    throw new Error(`${kind} ${user.name}: ${reply}`);
  }
  return new ChatConnection(transport, user);
}

class IrcConnection implements BenchConnection {
  onMessage: (line: string) => void = () => {};

  constructor(readonly transport: LineTransport, readonly name: string) {
    transport.onLine = (line) => {
      if (line.includes(" PRIVMSG ")) this.onMessage(line);
      else if (line.startsWith("PING ")) transport.write(`PONG ${line.slice(5)}\r\n`);
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
  const welcome = transport.waitFor((line) => / 001 /.test(line) || line.startsWith("ERROR"));
  transport.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
  const reply = await welcome;
  if (reply.startsWith("ERROR")) throw new Error(`${nick}: ${reply}`);
  if (join) {
    const joined = transport.waitFor((line) => / 366 /.test(line));
    transport.write("JOIN #bench\r\n");
    await joined;
  }
  return new IrcConnection(transport, nick);
}
