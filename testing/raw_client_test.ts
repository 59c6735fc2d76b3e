import assert from "node:assert/strict";
import { dataPaths } from "../pki/paths.ts";
import { makeDataDir } from "./chat.ts";
import { withDeadline } from "./deadline.ts";
import { RawClient } from "./raw_client.ts";

/** A one-connection TLS server with the data directory's server certificate; returns what it read. */
async function tlsSink(dir: string) {
  const paths = dataPaths(dir);
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(paths.serverCertificate),
    key: await Deno.readTextFile(paths.serverKey),
  });
  const received = (async () => {
    const conn = await listener.accept();
    const chunks: number[] = [];
    const buffer = new Uint8Array(1024);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      chunks.push(...buffer.subarray(0, n));
    }
    conn.close();
    return new Uint8Array(chunks);
  })();
  return { port: (listener.addr as Deno.NetAddr).port, received, listener };
}

Deno.test("RawClient.send() puts a Uint8Array on the wire byte for byte, invalid UTF-8 included", async () => {
  const dir = await makeDataDir();
  const sink = await tlsSink(dir);
  try {
    const ca = await Deno.readTextFile(dataPaths(dir).serverCaCertificate);
    const client = await RawClient.connect(sink.port, ca);
    const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a]);
    await client.send(bytes);
    await client.send('{"type":"ping"}\n');
    await client.closeWrite();
    const received = await withDeadline(sink.received, undefined, "the sink's bytes");
    client.close();
    assert.deepEqual(
      [...received],
      [...bytes, ...new TextEncoder().encode('{"type":"ping"}\n')],
    );
  } finally {
    sink.listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RawClient.next() fails after its deadline on a server that never answers", async () => {
  const dir = await makeDataDir();
  const sink = await tlsSink(dir);
  try {
    const ca = await Deno.readTextFile(dataPaths(dir).serverCaCertificate);
    const client = await RawClient.connect(sink.port, ca);
    await assert.rejects(
      client.next(200),
      /^DeadlineError: a frame from the server: no result within \d+ ms$/,
    );
    await assert.rejects(client.untilClosed(200), /no result within|did not close/);
    client.close();
    await withDeadline(sink.received);
  } finally {
    sink.listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
