/**
 * A stand-in chat server for client tests: TLS with the data directory's
 * real server certificate (as a compromised server would have), answering
 * each frame the client sends with a script, and recording every byte it
 * received, so a test can check what the client said on the wire.
 */

import tls from "node:tls";
import { dataPaths } from "../pki/paths.ts";

/** Answers one decoded client frame; `send` writes raw text to the client. */
export type Script = (socket: tls.TLSSocket, frame: Record<string, unknown>) => void;

export interface FakeServer {
  port: number;
  /** Every byte the clients sent, decrypted, in order. */
  received(): Uint8Array;
  close(): void;
}

export async function startFakeServer(dir: string, script: Script): Promise<FakeServer> {
  const chunks: Uint8Array[] = [];
  const server = tls.createServer({
    key: await Deno.readTextFile(dataPaths(dir).serverKey),
    cert: await Deno.readTextFile(dataPaths(dir).serverCertificate),
    requestCert: true,
    rejectUnauthorized: false,
  }, (socket) => {
    let buffer = "";
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => {
      chunks.push(new Uint8Array(chunk));
      buffer += new TextDecoder().decode(chunk);
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          script(socket, JSON.parse(line));
        } catch {
          socket.destroy();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    received: () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const chunk of chunks) {
        out.set(chunk, offset);
        offset += chunk.length;
      }
      return out;
    },
    close: () => server.close(),
  };
}
