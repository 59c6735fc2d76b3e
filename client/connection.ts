/**
 * The client's TLS edge, and the only client file that knows about sockets.
 * It uses Deno.connectTls: the node:tls client in Deno 2.9.6 accepts a forged
 * X.509 v1 server certificate, while Deno.connectTls (rustls) checks the
 * server against our CA alone (not the system roots) and the host name.
 */

import {
  decodeServerFrame,
  encodeFrameBytes,
  endsRequest,
  ProtocolError,
} from "../protocol/frames.ts";
import type { ClientFrame, ServerFrame } from "../protocol/frames.ts";
import { FrameTooLargeError, LineDecoder } from "../protocol/line_decoder.ts";
import { PROTOCOL_VERSIONS } from "../protocol/limits.ts";
import { describeConnectError } from "./connect_errors.ts";

/** How long a closing connection waits for the server to close its side. */
const CLOSE_WAIT_MS = 2_000;

export interface Credentials {
  /** PEM client certificate. */
  certificate: string;
  /** PEM PKCS#8 Ed25519 identity key: the certificate's key. */
  key: string;
  /** PEM PKCS#8 X25519 encryption key (end-to-end); not used by TLS. */
  encryptionKey: string;
}

export interface ServerAddress {
  host: string;
  port: number;
}

/** A request's last frame, or null when the connection ended first. */
export type Reply = ServerFrame | null;

/** The connection could not be made; `message` completes "cannot connect to HOST:PORT: ". */
export class ConnectError extends Error {
  override name = "ConnectError";
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

class MalformedFrame extends Error {}

function connectError(error: unknown, host: string): ConnectError {
  const { reason, hint } = describeConnectError(error, host);
  return new ConnectError(reason, hint);
}

export class ServerConnection {
  readonly #conn: Deno.TlsConn;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  readonly #done: Promise<void>;
  #closing = false;
  #endReason: string | null = null;
  #broken = false;
  #writing: Promise<void> = Promise.resolve();

  private constructor(
    conn: Deno.TlsConn,
    onFrame: (frame: ServerFrame, connection: ServerConnection) => void,
    onEnd: (connection: ServerConnection, reason: string | null) => void,
  ) {
    this.#conn = conn;
    const end = (reason: string) => {
      this.#endReason = reason;
      onEnd(this, this.#closing ? null : reason);
    };
    this.#done = this.#read(onFrame).then(
      () => end("the server closed the connection"),
      (error) => {
        this.#broken = error instanceof MalformedFrame;
        end(this.#broken ? error.message : describeConnectError(error, "").reason);
      },
    ).finally(() => {
      for (const resolve of this.#pending.values()) resolve(null);
      this.#pending.clear();
    });
  }

  /**
   * Connects, completes the TLS handshake (so a bad server certificate or a
   * refused client certificate fails here), and greets the server.
   */
  static async open(
    address: ServerAddress,
    caCertificate: string,
    credentials: Credentials | null,
    onFrame: (frame: ServerFrame, connection: ServerConnection) => void,
    onEnd: (connection: ServerConnection, reason: string | null) => void,
  ): Promise<ServerConnection> {
    let conn: Deno.TlsConn;
    try {
      conn = await Deno.connectTls({
        hostname: address.host,
        port: address.port,
        caCerts: [caCertificate],
        ...(credentials ? { cert: credentials.certificate, key: credentials.key } : {}),
      });
    } catch (error) {
      throw connectError(error, address.host);
    }
    try {
      await conn.handshake();
    } catch (error) {
      conn.close();
      throw connectError(error, address.host);
    }
    const connection = new ServerConnection(conn, onFrame, onEnd);
    connection.send({ type: "hello", versions: [...PROTOCOL_VERSIONS] });
    return connection;
  }

  /** Sends a frame; writes keep their order. */
  send(frame: ClientFrame): void {
    const bytes = encodeFrameBytes(frame);
    this.#writing = this.#writing.then(async () => {
      let offset = 0;
      while (offset < bytes.byteLength) offset += await this.#conn.write(bytes.subarray(offset));
    }).catch(() => {
      // The read side reports the broken connection.
    });
  }

  /** Sends a request and resolves with the frame that answers it. */
  request(frame: ClientFrame & { id: number }): Promise<Reply> {
    return new Promise((resolve) => {
      if (this.#closing) return resolve(null);
      this.#pending.set(frame.id, resolve);
      this.send(frame);
    });
  }

  /** The server broke the protocol (not a lost connection: reconnecting would not help). */
  get broken(): boolean {
    return this.#broken;
  }

  /** Why the connection ended, once it has. */
  get endReason(): string | null {
    return this.#endReason;
  }

  /** Says goodbye and closes; resolves when the read loop has ended. */
  async close(sayExit = false): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      if (sayExit) this.send({ type: "exit" });
      await this.#writing;
      try {
        await this.#conn.closeWrite();
      } catch {
        // already closed
      }
    }
    // The server answers our close by closing too; do not wait forever.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS));
    await Promise.race([this.#done, late]);
    clearTimeout(timer);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#done;
  }

  async #read(onFrame: (frame: ServerFrame, connection: ServerConnection) => void) {
    const decoder = new LineDecoder();
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) return;
        for (const line of decoder.push(buffer.subarray(0, n))) {
          const frame = decodeServerFrame(line);
          onFrame(frame, this);
          if (endsRequest(frame)) {
            const re = (frame as { re: number }).re;
            this.#pending.get(re)?.(frame);
            this.#pending.delete(re);
          }
        }
      }
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof FrameTooLargeError) {
        throw new MalformedFrame("the server sent a malformed frame");
      }
      throw error;
    } finally {
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
  }
}
