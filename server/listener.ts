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
 */

import tls from "node:tls";
import { setImmediate } from "node:timers";
import { FrameTooLargeError, LineDecoder } from "../protocol/line_decoder.ts";
import { encodeFrame } from "../protocol/frames.ts";
import type { Connection } from "./session.ts";

export interface TlsMaterial {
  /** PEM private key of the server. */
  key: string;
  /** PEM certificate of the server. */
  certificate: string;
  /** PEM certificate of the CA that client certificates must chain to. */
  ca: string;
}

export function createListener(
  material: TlsMaterial,
  onConnection: (connection: SocketConnection) => void,
  onTlsError: (address: string, error: Error) => void,
): tls.Server {
  const server = tls.createServer({
    key: material.key,
    cert: material.certificate,
    ca: material.ca,
    requestCert: true,
    // Clients without a certificate must still reach the anonymous state.
    rejectUnauthorized: false,
    minVersion: "TLSv1.3",
    // We end our side ourselves, once the replies to what was read are sent.
    allowHalfOpen: true,
  }, (socket) => onConnection(new SocketConnection(socket)));
  server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
    onTlsError(formatAddress(socket.remoteAddress, socket.remotePort), error);
    socket.destroy();
  });
  return server;
}

/** Listens and resolves with the bound address. */
export function listen(server: tls.Server, host: string, port: number): Promise<{
  host: string;
  port: number;
}> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
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
 * A TLS socket as a `Connection`: incoming data split into frames, outgoing
 * lines coalesced into one write per turn of the event loop (Deno's node:tls
 * pays per write, not per byte).
 */
export class SocketConnection implements Connection {
  readonly address: string;
  readonly verifiedCertificate: Uint8Array | null;
  readonly certificateProblem: string | null;
  readonly #socket: tls.TLSSocket;
  readonly #decoder = new LineDecoder();
  #outgoing: string[] = [];
  #flushScheduled = false;
  #closed = false;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    this.address = formatAddress(socket.remoteAddress, socket.remotePort);
    const presented = socket.getPeerCertificate(true);
    const der = presented?.raw ? new Uint8Array(presented.raw) : null;
    this.verifiedCertificate = socket.authorized === true ? der : null;
    this.certificateProblem = der !== null && socket.authorized !== true
      ? `certificate not verified by TLS (${socket.authorizationError ?? "unknown reason"})`
      : null;
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
    let ended = false;
    const finish = (reason: string) => {
      if (ended) return;
      ended = true;
      this.#closed = true;
      onClose(reason);
    };
    this.#socket.on("data", (chunk: Uint8Array) => {
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
      for (const line of lines) onLine(line);
    });
    this.#socket.on("error", (error: Error) => {
      finish(`socket error: ${error.message}`);
      this.#socket.destroy();
    });
    this.#socket.on("close", () => finish("closed"));
    this.#socket.on("end", () => {
      settled().finally(() => this.close());
    });
  }

  sendLine(line: string): void {
    if (this.#closed) return;
    this.#outgoing.push(line);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  drained(): Promise<void> {
    this.#flush();
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

  /** Bytes written but not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#socket.end();
  }

  /** Drops the connection at once, without flushing. */
  destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outgoing.length === 0 || this.#socket.destroyed) return;
    const data = this.#outgoing.length === 1 ? this.#outgoing[0] : this.#outgoing.join("");
    this.#outgoing = [];
    this.#socket.write(data);
  }
}

export function formatAddress(host: string | undefined, port: number | undefined): string {
  const h = host ?? "?";
  return `${h.includes(":") ? `[${h}]` : h}:${port ?? "?"}`;
}
