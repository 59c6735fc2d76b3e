/**
 * A raw protocol client for attack tests and the bench: speaks TLS and frames
 * directly, presenting whatever certificate the test made, with none of the
 * real client's checks. `send` takes a frame (encoded by protocol/), a string
 * (sent as UTF-8) or bytes (sent exactly as given, invalid UTF-8 included).
 * Every read has a deadline.
 */

import { decodeServerFrame, encodeFrame, endsRequest } from "../protocol/frames.ts";
import type { ClientFrame, ServerFrame } from "../protocol/frames.ts";
import { LineDecoder } from "../protocol/line_decoder.ts";
import { WAIT_MS, withDeadline } from "./deadline.ts";

export class RawClient {
  readonly #conn: Deno.TlsConn;
  readonly #decoder = new LineDecoder();
  readonly #frames: ServerFrame[] = [];
  readonly #buffer = new Uint8Array(64 * 1024);
  #pending: Promise<void> | undefined;
  #closed = false;

  private constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
  }

  static async connect(
    port: number,
    caCertificate: string,
    credentials?: { certificate: string; key: string },
  ): Promise<RawClient> {
    const conn = await withDeadline(
      Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [caCertificate],
        ...(credentials ? { cert: credentials.certificate, key: credentials.key } : {}),
      }),
      WAIT_MS,
      "TLS connect",
    );
    try {
      await withDeadline(conn.handshake(), WAIT_MS, "TLS handshake");
    } catch (error) {
      conn.close();
      throw error;
    }
    return new RawClient(conn);
  }

  /** Our side's port: the server's log names a connection by it (`from 127.0.0.1:PORT`). */
  get localPort(): number {
    return (this.#conn.localAddr as Deno.NetAddr).port;
  }

  /** Sends a frame (encoded), a string (as UTF-8) or bytes (as they are). */
  async send(frame: ClientFrame | string | Uint8Array): Promise<void> {
    const bytes = frame instanceof Uint8Array
      ? frame
      : new TextEncoder().encode(typeof frame === "string" ? frame : encodeFrame(frame));
    let offset = 0;
    while (offset < bytes.byteLength) {
      offset += await withDeadline(this.#conn.write(bytes.subarray(offset)), WAIT_MS, "TLS write");
    }
  }

  /**
   * One read from the socket, its frames decoded into the queue. Shared while
   * pending, so a read abandoned by a deadline is not lost nor doubled.
   */
  #fill(): Promise<void> {
    this.#pending ??= (async () => {
      let n: number | null;
      try {
        n = await this.#conn.read(this.#buffer);
      } catch (error) {
        // A server that drops a connection need not say goodbye in TLS.
        if (
          !(error instanceof Deno.errors.UnexpectedEof) &&
          !(error instanceof Deno.errors.ConnectionReset)
        ) throw error;
        n = null;
      }
      if (n === null) {
        this.#closed = true;
        return;
      }
      for (const line of this.#decoder.push(this.#buffer.subarray(0, n))) {
        this.#frames.push(decodeServerFrame(line));
      }
    })().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** The next frame from the server, or null when it closed the connection; fails after `ms`. */
  async next(ms: number = WAIT_MS): Promise<ServerFrame | null> {
    const deadline = Date.now() + ms;
    while (this.#frames.length === 0) {
      if (this.#closed) return null;
      await withDeadline(
        this.#fill(),
        Math.max(0, deadline - Date.now()),
        "a frame from the server",
      );
    }
    return this.#frames.shift()!;
  }

  /**
   * Reads frames until the server closes the connection and returns them.
   * Fails if the server has not closed within `ms`: a server that never
   * answers does not pass for one that closed.
   */
  async untilClosed(ms: number = WAIT_MS): Promise<ServerFrame[]> {
    const deadline = Date.now() + ms;
    const frames: ServerFrame[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the server did not close within ${ms} ms`);
      const frame = await this.next(left);
      if (frame === null) return frames;
      frames.push(frame);
    }
  }

  /** Sends a request and returns the frames up to the one that answers it. */
  async request(frame: ClientFrame & { id: number }): Promise<ServerFrame[]> {
    await this.send(frame);
    const frames: ServerFrame[] = [];
    for (;;) {
      const reply = await this.next();
      if (reply === null) return frames;
      frames.push(reply);
      if (endsRequest(reply) && "re" in reply && reply.re === frame.id) return frames;
    }
  }

  /** Greets the server and checks its answer. */
  async hello(): Promise<void> {
    await this.send({ type: "hello", versions: [2] });
    const reply = await this.next();
    if (reply?.type !== "hello") throw new Error(`unexpected greeting ${JSON.stringify(reply)}`);
  }

  /** Ends our side (TLS close_notify, then FIN); the server may still answer. */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
