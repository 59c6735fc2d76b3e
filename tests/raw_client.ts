/**
 * A raw protocol client for attack tests: speaks TLS and frames directly,
 * presenting whatever certificate the test made, with none of the real
 * client's checks.
 */

import { decodeServerFrame, encodeFrame } from "../protocol/frames.ts";
import type { ClientFrame, ServerFrame } from "../protocol/frames.ts";
import { LineDecoder } from "../protocol/line_decoder.ts";
import { WAIT_MS } from "./harness.ts";

export class RawClient {
  readonly #conn: Deno.TlsConn;
  readonly #decoder = new LineDecoder();
  readonly #frames: ServerFrame[] = [];
  readonly #buffer = new Uint8Array(64 * 1024);

  private constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
  }

  static async connect(
    port: number,
    caCertificate: string,
    credentials?: { certificate: string; key: string },
  ): Promise<RawClient> {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts: [caCertificate],
      ...(credentials ? { cert: credentials.certificate, key: credentials.key } : {}),
    });
    await conn.handshake();
    return new RawClient(conn);
  }

  async send(frame: ClientFrame | string): Promise<void> {
    const text = typeof frame === "string" ? frame : encodeFrame(frame);
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    while (offset < bytes.byteLength) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** The next frame from the server, or null when it closed the connection. */
  async next(): Promise<ServerFrame | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no frame from the server in time")), WAIT_MS);
    });
    try {
      while (this.#frames.length === 0) {
        let n: number | null;
        try {
          n = await Promise.race([this.#conn.read(this.#buffer), timeout]);
        } catch (error) {
          // A server that drops a connection need not say goodbye in TLS.
          if (error instanceof Deno.errors.UnexpectedEof) return null;
          if (error instanceof Deno.errors.ConnectionReset) return null;
          throw error;
        }
        if (n === null) return null;
        for (const line of this.#decoder.push(this.#buffer.subarray(0, n))) {
          this.#frames.push(decodeServerFrame(line));
        }
      }
      return this.#frames.shift()!;
    } finally {
      clearTimeout(timer);
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
      if ("re" in reply && reply.re === frame.id && reply.type !== "ok") return frames;
    }
  }

  /** Greets the server and checks its answer. */
  async hello(): Promise<void> {
    await this.send({ type: "hello", versions: [1] });
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
