/**
 * What lookups of unknown names cost everyone else (issue 8, item 3): on a
 * database of 20,000 users, 4 accounts ask for the keys of names that do not
 * exist as fast as the server's request rate lets them, while another user
 * measures the echo of a public message (sent every 50 ms). Reported: echo
 * latency p50 and p99, with the probers and without.
 *
 * The database is filled with SQL directly (node:sqlite), so the same file
 * measures any version of the server.
 *
 *   deno run --allow-all bench/probes.ts [USERS [PROBERS [SECONDS]]]   (20000, 4, 10)
 */

import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { loadAuthority } from "../pki/authority.ts";
import { createRequest, signRequest } from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
import { dataPaths } from "../pki/paths.ts";
import { encodeFrame } from "../protocol/frames.ts";
import { makeDataDir, ServerProcess } from "../testing/chat.ts";

interface Identity {
  name: string;
  certificate: string;
  key: string;
}

/** A data directory whose chat.db holds `users` users, and `accounts` that can log in. */
async function prepare(users: number, accounts: string[]): Promise<[string, Identity[]]> {
  const dir = await makeDataDir();
  // The server makes the schema of its own version.
  await (await ServerProcess.start(dir)).stop();
  const ca = await loadAuthority(dataPaths(dir));
  const db = new DatabaseSync(join(dir, "chat.db"));
  const identities: Identity[] = [];
  try {
    const columns = (db.prepare("PRAGMA table_info(users)").all() as Array<{ name: string }>)
      .map((c) => c.name);
    const withSkeleton = columns.includes("skeleton");
    const insert = db.prepare(
      `INSERT INTO users (name, public_key, certificate, encryption_key, key_binding, created_at${
        withSkeleton ? ", skeleton" : ""
      }) VALUES (?, ?, ?, ?, ?, 0${withSkeleton ? ", ?" : ""})`,
    );
    const add = (name: string, publicKey: Uint8Array, certificate: Uint8Array) =>
      insert.run(
        name,
        publicKey,
        certificate,
        new Uint8Array(44),
        new Uint8Array(64),
        ...(withSkeleton ? [`skeleton-of-${name}`] : []),
      );
    db.exec("BEGIN");
    const blob = new Uint8Array(300);
    for (let i = 0; i < users; i++) add(`member${String(i).padStart(6, "0")}`, blob, blob);
    for (const name of accounts) {
      const keys = await generateKeyPair();
      const certificate = await signRequest(ca, await createRequest(name, keys));
      add(
        name,
        new Uint8Array(certificate.publicKey.rawData),
        new Uint8Array(certificate.rawData),
      );
      identities.push({
        name,
        certificate: certificate.toString("pem"),
        key: await exportPrivateKeyPem(keys.privateKey),
      });
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  return [dir, identities];
}

/** A logged-in raw connection: send frames, wait for the reply to an id. */
class Account {
  readonly #conn: Deno.TlsConn;
  readonly #waiting = new Map<number, () => void>();
  #nextId = 2;

  private constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
  }

  static async login(port: number, ca: string, identity: Identity): Promise<Account> {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts: [ca],
      cert: identity.certificate,
      key: identity.key,
    });
    await conn.handshake();
    const account = new Account(conn);
    const loggedIn = account.#expect(1);
    void account.#read();
    await account.#write(
      encodeFrame({ type: "hello", versions: [2] }) +
        encodeFrame({ type: "login", id: 1, name: identity.name }),
    );
    await loggedIn;
    return account;
  }

  /** Sends a request and resolves when its reply comes. */
  async request(frame: Record<string, unknown>): Promise<void> {
    const id = this.#nextId++;
    const reply = this.#expect(id);
    await this.#write(JSON.stringify({ ...frame, id }) + "\n");
    await reply;
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  #expect(id: number): Promise<void> {
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }

  async #write(text: string): Promise<void> {
    const bytes = new TextEncoder().encode(text);
    for (let offset = 0; offset < bytes.length;) {
      offset += await this.#conn.write(bytes.subarray(offset));
    }
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(64 * 1024);
    let tail = "";
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) return;
        const lines = (tail + decoder.decode(buffer.subarray(0, n), { stream: true })).split("\n");
        tail = lines.pop()!;
        for (const line of lines) {
          const frame = JSON.parse(line);
          // The `ok` of a login comes before its history: wait for its end.
          if (frame.type === "ok" || frame.re === undefined) continue;
          this.#waiting.get(frame.re)?.();
          this.#waiting.delete(frame.re);
        }
      }
    } catch {
      // closed
    } finally {
      // Nothing more will come: release whoever waits.
      for (const resolve of this.#waiting.values()) resolve();
      this.#waiting.clear();
    }
  }
}

/** Echo latencies (ms) of public messages sent every `everyMs` for `seconds`. */
async function echoes(account: Account, seconds: number, everyMs = 50): Promise<number[]> {
  const times: Promise<number>[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const start = performance.now();
    times.push(
      account.request({ type: "public", text: "ping", signature: "s" })
        .then(() => performance.now() - start),
    );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return await Promise.all(times);
}

const percentile = (values: number[], p: number) =>
  values.toSorted((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

export interface ProbeLatency {
  users: number;
  probers: number;
  /** Echo latency without probers, ms: p50, p99. */
  quiet: [number, number];
  /** Echo latency while the probers ask for unknown names, ms: p50, p99. */
  probed: [number, number];
  /** Unknown-name lookups the server answered per second, all probers together. */
  probesPerSecond: number;
}

export async function measureProbes(
  users = 20_000,
  probers = 4,
  seconds = 10,
): Promise<ProbeLatency> {
  const names = ["echo", ...Array.from({ length: probers }, (_, i) => `prober${i}`)];
  const [dir, identities] = await prepare(users, names);
  const ca = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
  const server = await ServerProcess.start(dir);
  const accounts: Account[] = [];
  try {
    for (const identity of identities) {
      accounts.push(await Account.login(server.port, ca, identity));
    }
    const [echo, ...probing] = accounts;
    const quiet = await echoes(echo, seconds / 2);
    let stop = false;
    let probes = 0;
    const probe = async (account: Account, n: number) => {
      for (let i = 0; !stop; i++) {
        await account.request({ type: "keys", name: `nobody${n}x${i}` });
        probes++;
      }
    };
    const started = performance.now();
    const running = probing.map((account, n) => probe(account, n));
    const probed = await echoes(echo, seconds);
    const elapsed = (performance.now() - started) / 1000;
    const counted = probes;
    stop = true;
    for (const account of accounts) account.close();
    await Promise.allSettled(running);
    return {
      users,
      probers,
      quiet: [percentile(quiet, 0.5), percentile(quiet, 0.99)],
      probed: [percentile(probed, 0.5), percentile(probed, 0.99)],
      probesPerSecond: counted / elapsed,
    };
  } finally {
    for (const account of accounts) account.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const [users, probers, seconds] = [20_000, 4, 10].map((d, i) => Number(Deno.args[i] ?? d));
  const m = await measureProbes(users, probers, seconds);
  console.log(
    `${users} users, ${probers} accounts probing unknown names (${
      m.probesPerSecond.toFixed(0)
    }/s): ` +
      `echo p50 ${m.probed[0].toFixed(1)} ms, p99 ${m.probed[1].toFixed(1)} ms ` +
      `(without probes: p50 ${m.quiet[0].toFixed(1)} ms, p99 ${m.quiet[1].toFixed(1)} ms)`,
  );
}
