/**
 * Time to show a history at login: a user whose history holds N signed
 * messages (half public, half private, all checked by the client) logs in
 * with the real client, which shows the most recent HISTORY_WINDOW of them
 * after one line on the earlier ones; we measure from sending `/login` until
 * the last history line is printed (the prompt comes next). Medians of
 * several runs; no assertion.
 *
 * "first" logins start without the client's store of verified messages
 * (clientkeys/bob/history) and its record of verified signatures
 * (clientkeys/bob/verified), so every message shown is fetched and checked;
 * "later" logins have them, as every login after the first on that machine
 * does, and fetch only what is new (nothing, here).
 *
 *   deno task bench:history [N...]     (default 10000)
 */

import { join } from "node:path";
import type { NewMessage } from "../db/store.ts";
import { SqliteStore } from "../db/sqlite/store.ts";
import { sealPrivateMessage, signPublicMessage } from "../e2e/envelope.ts";
import { OwnKeys, Peer } from "../e2e/keys.ts";
import { ownKeys } from "../client/peers.ts";
import { KeyStore } from "../client/store.ts";
import { HISTORY_WINDOW } from "../client/history.ts";
import { median } from "./report.ts";
import { chatSession, ClientProcess, makeDataDir, ServerProcess } from "../testing/chat.ts";

const RUNS = 5;

async function keysOf(dir: string, name: string): Promise<OwnKeys> {
  return ownKeys(name, await new KeyStore(join(dir, "clientkeys")).load(name));
}

/** A data directory where bob's history holds `count` signed messages. */
async function prepare(count: number): Promise<string> {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register alice"]);
    await chatSession(dir, server.port, ["/register bob"]);
  } finally {
    await server.stop();
  }
  const alice = await keysOf(dir, "alice");
  const bob = await keysOf(dir, "bob");
  const store = SqliteStore.open(join(dir, "chat.db"));
  try {
    const aliceUser = store.findUserNow("alice")!;
    const bobUser = store.findUserNow("bob")!;
    const messages: NewMessage[] = [];
    const append = (
      sender: typeof aliceUser,
      recipient: typeof aliceUser | null,
      body: string,
      signature: string | null,
      time: number,
    ) => messages.push({ sender, recipient, body, signature, time });
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const text = `message ${i}: ${"lorem ipsum ".repeat(7)}`;
      const time = now - (count - i) * 1000;
      if (i % 2 === 0) {
        append(aliceUser, null, text, signPublicMessage(alice, text, { time }), time);
      } else if (i % 4 === 1) {
        const payload = sealPrivateMessage(alice, new Peer(bob.keys), text, { time });
        append(aliceUser, bobUser, payload, null, time);
      } else {
        const payload = sealPrivateMessage(bob, new Peer(alice.keys), text, { time });
        append(bobUser, aliceUser, payload, null, time);
      }
    }
    store.appendMessagesNow(messages);
  } finally {
    await store.close();
  }
  return dir;
}

async function timeLogin(dir: string, port: number, count: number): Promise<number> {
  const client = new ClientProcess(dir, port);
  try {
    // Let the client start and connect before the clock starts.
    await client.ask("/users", "error: command not currently available");
    const from = client.output.lines.length;
    const start = performance.now();
    await client.send("/login bob");
    await client.output.waitFor(new RegExp(` message ${count - 1}: `), from, 120_000);
    const elapsed = performance.now() - start;
    const lines = client.output.lines.slice(from + 1);
    const expected = Math.min(count, HISTORY_WINDOW);
    const earlier = count > expected ? 1 : 0;
    const shown = lines.filter((line) => / message \d+: /.test(line)).length;
    if (shown !== expected || lines.length !== expected + earlier) {
      throw new Error(`expected ${expected} history lines, got ${shown} of ${lines.length}`);
    }
    const warnings = client.output.lines.filter((l) => l.startsWith("warning: ")).length;
    if (warnings > 0) throw new Error(`${warnings} warnings in the history`);
    await client.end();
    return elapsed;
  } finally {
    client.kill();
  }
}

export interface HistoryTimes {
  count: number;
  /** Logins without the client's record of verified messages, ms. */
  first: number[];
  /** Logins with it, ms. */
  later: number[];
}

/** Times logins of a user whose history holds `count` signed messages. */
export async function measureHistory(count: number, runs = RUNS): Promise<HistoryTimes> {
  const dir = await prepare(count);
  const server = await ServerProcess.start(dir);
  try {
    // One login first, so that module loading is warm for both series.
    await timeLogin(dir, server.port, count);
    const records = ["verified", "history"].map((file) => join(dir, "clientkeys", "bob", file));
    const times: HistoryTimes = { count, first: [], later: [] };
    for (const kind of ["first", "later"] as const) {
      for (let run = 0; run < runs; run++) {
        if (kind === "first") { for (const file of records) await Deno.remove(file); }
        times[kind].push(await timeLogin(dir, server.port, count));
      }
    }
    return times;
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const sizes = Deno.args.length > 0 ? Deno.args.map(Number) : [10_000];
  for (const count of sizes) {
    const times = await measureHistory(count);
    for (const kind of ["first", "later"] as const) {
      const values = times[kind];
      console.log(
        `history of ${count} signed messages (half private), ${kind} login: ` +
          `median ${median(values).toFixed(0)} ms over ${values.length} ` +
          `(min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`,
      );
    }
  }
}
