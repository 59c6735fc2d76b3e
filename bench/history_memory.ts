/**
 * What a login costs the server in memory (SPEC section 2, "History"): N
 * users, each with the same H public messages of history, log in at once
 * over raw TLS and read their history to `history_end`; we sample the
 * server's RSS (bench/proc.ts) the whole time. Then the same N log in and
 * read nothing for two seconds ("stalled"): streamed history waits for the
 * socket to drain, so that costs a page each, not the history.
 *
 *   deno run --allow-all bench/history_memory.ts [USERS [MESSAGES]]   (10, 100000)
 */

import { join } from "node:path";
import { SqliteStore } from "../db/sqlite/store.ts";
import type { NewMessage } from "../db/store.ts";
import { loadAuthority } from "../pki/authority.ts";
import { createRequest, signRequest } from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
import { dataPaths } from "../pki/paths.ts";
import { encodeFrame } from "../protocol/frames.ts";
import { makeDataDir, ServerProcess } from "../testing/chat.ts";
import { rssKiB } from "./proc.ts";

interface Identity {
  name: string;
  certificate: string;
  key: string;
}

/** A data directory with `users` users and `messages` public messages of ~200 bytes. */
async function prepare(users: number, messages: number): Promise<[string, Identity[]]> {
  const dir = await makeDataDir();
  const ca = await loadAuthority(dataPaths(dir));
  const store = SqliteStore.open(join(dir, "chat.db"));
  const identities: Identity[] = [];
  try {
    for (let i = 0; i < users; i++) {
      const name = `reader${i}`;
      const keys = await generateKeyPair();
      const certificate = await signRequest(ca, await createRequest(name, keys));
      await store.createUser(name, {
        publicKey: new Uint8Array(certificate.publicKey.rawData),
        certificate: new Uint8Array(certificate.rawData),
        encryptionKey: new Uint8Array(44),
        keyBinding: new Uint8Array(64),
      }, Date.now());
      identities.push({
        name,
        certificate: certificate.toString("pem"),
        key: await exportPrivateKeyPem(keys.privateKey),
      });
    }
    const sender = store.findUserNow("reader0")!;
    const signature = ["1", "A".repeat(22), "0", "B".repeat(86)].join(".");
    const batch: NewMessage[] = [];
    const now = Date.now();
    for (let i = 0; i < messages; i++) {
      const body = `history message ${i}: ${"lorem ipsum ".repeat(6)}`;
      batch.push({ sender, recipient: null, body, signature, time: now - messages + i });
      if (batch.length === 10_000 || i === messages - 1) store.appendMessagesNow(batch.splice(0));
    }
  } finally {
    await store.close();
  }
  return [dir, identities];
}

/** Logs in and reads to `history_end` (or, `stall`, reads nothing for `stallMs`). */
async function login(
  port: number,
  ca: string,
  identity: Identity,
  stallMs: number | null,
): Promise<number> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port,
    caCerts: [ca],
    cert: identity.certificate,
    key: identity.key,
  });
  try {
    await conn.handshake();
    const request = encodeFrame({ type: "hello", versions: [2] }) +
      encodeFrame({ type: "login", id: 1, name: identity.name });
    await conn.write(new TextEncoder().encode(request));
    if (stallMs !== null) {
      await new Promise((resolve) => setTimeout(resolve, stallMs));
      return 0;
    }
    // Count lines without decoding them: the reader must not be the bottleneck.
    const end = new TextEncoder().encode('{"type":"history_end"');
    const buffer = new Uint8Array(256 * 1024);
    let lines = 0;
    let tail = new Uint8Array(0);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`${identity.name}: closed after ${lines} lines`);
      const chunk = buffer.subarray(0, n);
      for (const byte of chunk) if (byte === 10) lines++;
      const window = new Uint8Array(tail.length + chunk.length);
      window.set(tail);
      window.set(chunk, tail.length);
      if (includes(window, end)) return lines;
      tail = window.slice(Math.max(0, window.length - end.length));
    }
  } finally {
    conn.close();
  }
}

function includes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export interface HistoryMemory {
  users: number;
  messages: number;
  /** Server RSS before the logins, KiB. */
  idleKiB: number;
  /** Highest RSS while everyone read their history, KiB. */
  readingKiB: number;
  /** Highest RSS while everyone was logged in and read nothing, KiB. */
  stalledKiB: number;
  /** Time for all to read their history, ms. */
  readMs: number;
}

/** Samples `pid`'s RSS every 20 ms while `work` runs; returns the highest. */
async function peakRss<T>(pid: number, work: Promise<T>): Promise<[number, T]> {
  let peak = rssKiB(pid);
  const timer = setInterval(() => peak = Math.max(peak, rssKiB(pid)), 20);
  try {
    const result = await work;
    return [Math.max(peak, rssKiB(pid)), result];
  } finally {
    clearInterval(timer);
  }
}

export async function measureHistoryMemory(
  users = 10,
  messages = 100_000,
  flags: string[] = [],
): Promise<HistoryMemory> {
  const [dir, identities] = await prepare(users, messages);
  const ca = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
  const server = await ServerProcess.start(dir, flags);
  try {
    // Warm up: one login of each kind, so code paths are compiled before we measure.
    await login(server.port, ca, identities[0], null);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idleKiB = rssKiB(server.pid);
    const started = performance.now();
    const [readingKiB, counts] = await peakRss(
      server.pid,
      Promise.all(identities.map((identity) => login(server.port, ca, identity, null))),
    );
    const readMs = performance.now() - started;
    for (const count of counts) {
      if (count < messages) throw new Error(`a reader got ${count} of ${messages} lines`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [stalledKiB] = await peakRss(
      server.pid,
      Promise.all(identities.map((identity) => login(server.port, ca, identity, 2_000))),
    );
    return { users, messages, idleKiB, readingKiB, stalledKiB, readMs };
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const users = Number(Deno.args[0] ?? 10);
  const messages = Number(Deno.args[1] ?? 100_000);
  const m = await measureHistoryMemory(users, messages, ["--max-queued", "65536"]);
  const per = (kib: number) => ((kib - m.idleKiB) / users / 1024).toFixed(1);
  console.log(
    `${users} logins with ${messages} messages of history each: server RSS ` +
      `${(m.idleKiB / 1024).toFixed(0)} MiB idle, ` +
      `peak ${(m.readingKiB / 1024).toFixed(0)} MiB reading (${
        per(m.readingKiB)
      } MiB per login), ` +
      `peak ${(m.stalledKiB / 1024).toFixed(0)} MiB stalled (${
        per(m.stalledKiB)
      } MiB per login); ` +
      `all read in ${(m.readMs / 1000).toFixed(1)} s`,
  );
}
