/**
 * `floor`: the least a Deno `node:tls` server does to serve chat's wire
 * format, run by the bench beside chat so that every chat figure also reads
 * as a ratio to what the runtime allows (SPEC section 6). Chat's TLS settings
 * (server/listener.ts: TLS 1.3, client certificates requested and verified
 * against the same CA), chat's framing, decoders and encoders (protocol/),
 * the same write coalescing (one write per connection per turn), presence
 * notices to everyone online at each login and logout (they are part of the
 * wire format: every chat login pays for them), and nothing else: no
 * database, no limits, no log, no identity beyond "the TLS layer verified a
 * certificate". Messages get ids from a counter; history is always empty;
 * `keys` is not served.
 *
 *   deno run --allow-read --allow-net bench/floor.ts DIR   (prints "listening on HOST:PORT")
 */

import tls from "node:tls";
import { setImmediate } from "node:timers";
import { dataPaths } from "../pki/paths.ts";
import { LineDecoder } from "../protocol/line_decoder.ts";
import {
  type ClientFrame,
  decodeClientFrame,
  encodeEcho,
  encodeFrame,
  ProtocolError,
  type ServerFrame,
} from "../protocol/frames.ts";
import { PROTOCOL_VERSION } from "../protocol/limits.ts";

class FloorConnection {
  name = "";
  #outgoing: string[] = [];
  #scheduled = false;
  readonly #decoder = new LineDecoder();

  constructor(readonly socket: tls.TLSSocket) {
    socket.on("data", (chunk: Uint8Array) => {
      let lines: Uint8Array[];
      try {
        lines = this.#decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const line of lines) this.#receive(line);
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      if (online.get(this.name) !== this) return;
      online.delete(this.name);
      announce(this.name, "left");
    });
    socket.on("end", () => {
      this.#flush();
      socket.end();
    });
  }

  sendLine(line: string): void {
    this.#outgoing.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #send(frame: ServerFrame): void {
    this.sendLine(encodeFrame(frame));
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#outgoing.length === 0 || this.socket.destroyed) return;
    const data = this.#outgoing.length === 1 ? this.#outgoing[0] : this.#outgoing.join("");
    this.#outgoing = [];
    this.socket.write(data);
  }

  #receive(line: Uint8Array): void {
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(line);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#send({ type: "error", code: error.code });
      return;
    }
    switch (frame.type) {
      case "hello":
        return this.#send({ type: "hello", version: PROTOCOL_VERSION });
      case "register":
      case "login": {
        if (this.socket.authorized !== true) {
          return this.#send({ type: "error", re: frame.id, code: "invalid_credentials" });
        }
        if (online.has(frame.name)) {
          return this.#send({ type: "error", re: frame.id, code: "already_logged_in" });
        }
        this.name = frame.name;
        online.set(frame.name, this);
        const status = frame.type === "register" ? "registered" : "authenticated";
        this.#send({ type: "ok", re: frame.id, status });
        this.#send({ type: "history_end", re: frame.id });
        return announce(frame.name, "joined");
      }
      case "ping":
        return this.#send({ type: "pong", re: frame.id });
      case "users":
        return this.#send({ type: "users", re: frame.id, names: [...online.keys()].sort() });
      case "keys":
        return this.#send({ type: "error", re: frame.id, code: "user_not_found" });
      case "public": {
        const line = encodeFrame({
          type: "public",
          id: nextId++,
          time: Date.now(),
          from: this.name,
          text: frame.text,
          signature: frame.signature,
        });
        const echo = encodeEcho(line, frame.id);
        for (const member of online.values()) member.sendLine(member === this ? echo : line);
        return;
      }
      case "private": {
        const line = encodeFrame({
          type: "private",
          id: nextId++,
          time: Date.now(),
          from: this.name,
          to: frame.to,
          payload: frame.payload,
        });
        this.sendLine(encodeEcho(line, frame.id));
        const recipient = online.get(frame.to);
        if (recipient !== undefined && recipient !== this) recipient.sendLine(line);
        return;
      }
      case "exit":
        this.#flush();
        this.socket.end();
        return;
    }
  }
}

const online = new Map<string, FloorConnection>();
let nextId = 1;

/** Presence, as chat sends it (SPEC section 2): one line to every other member. */
function announce(name: string, event: "joined" | "left"): void {
  const line = encodeFrame({ type: "presence", name, event });
  for (const member of online.values()) if (member.name !== name) member.sendLine(line);
}

const paths = dataPaths(Deno.args[0] ?? ".");
const server = tls.createServer({
  key: Deno.readTextFileSync(paths.serverKey),
  cert: Deno.readTextFileSync(paths.serverCertificate),
  ca: Deno.readTextFileSync(paths.serverCaCertificate),
  requestCert: true,
  rejectUnauthorized: false,
  minVersion: "TLSv1.3",
  allowHalfOpen: true,
}, (socket) => new FloorConnection(socket));
server.on("tlsClientError", (_error: Error, socket: tls.TLSSocket) => socket.destroy());
server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { address: string; port: number };
  console.log(`listening on ${address.address}:${address.port}`);
});
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
