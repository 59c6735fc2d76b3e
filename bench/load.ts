/**
 * The load generator: one scenario against one running system, as its own
 * process (bench/run.ts starts it). Prints its results as JSON rows on
 * stdout. Server CPU comes from /proc/PID/stat of every process of the
 * system, over the measured phase only; the generator's own CPU is reported
 * too, since on two cores it can be the bottleneck. Bytes per delivery are
 * the bytes of the delivered message lines, as the receivers read them.
 *
 *   deno run ... bench/load.ts '{"scenario":"fanout","system":"chat",...}'
 */

import { loadAuthority } from "../pki/authority.ts";
import { dataPaths } from "../pki/paths.ts";
import { cpuMs, treeCpuMs, treeRssKiB } from "./proc.ts";
import {
  type BenchConnection,
  chatConnect,
  type ChatUser,
  ircConnect,
  makeChatUser,
  protocolOf,
  type SystemName,
  type Target,
} from "./systems.ts";

export interface LoadRequest {
  scenario: "fanout" | "paced" | "pairs" | "logins" | "idle";
  system: SystemName;
  port: number;
  /** Where receivers connect, when not `port` (senders on one node, receivers on another). */
  receiverPort?: number;
  /** The system's processes (their descendants count too). */
  serverPids: number[];
  /** What each of `serverPids` is: server CPU is then also reported per part. */
  serverParts?: string[];
  /** A Deno server's V8 inspector port: the idle scenario forces a full GC through it. */
  inspectPort?: number;
  /** Where to write a CPU profile of the server over the measured phase (needs inspectPort). */
  profile?: string;
  /** chat's data directory (its CA certifies the bench users). */
  dir: string;
  caCertificate: string;
  receivers?: number;
  messages?: number;
  rate?: number;
  pairs?: number;
  logins?: number;
  concurrency?: number;
  connections?: number;
}

export interface Row {
  scenario: string;
  system: SystemName;
  metric: string;
  value: number;
  unit: string;
}

const WAIT_MS = 300_000;
const SETUP_CONCURRENCY = 25;

const request: LoadRequest = JSON.parse(Deno.args[0]);
const target: Target = {
  system: request.system,
  port: request.port,
  caCertificate: request.caCertificate,
  authority: protocolOf(request.system) === "chat"
    ? await loadAuthority(dataPaths(request.dir))
    : undefined,
};
const rows: Row[] = [];
const row = (scenario: string, metric: string, value: number, unit: string) =>
  rows.push({ scenario, system: request.system, metric, value, unit });

/** Text of about 100 bytes that carries its send time (performance.now(), ms). */
function messageText(i: number): string {
  const head = `t=${performance.now().toFixed(3)} n=${i} `;
  return head + "x".repeat(Math.max(0, 100 - head.length));
}

function sendTime(line: string): number {
  const at = line.indexOf("t=");
  return Number(line.slice(at + 2, line.indexOf(" ", at)));
}

const users = new Map<string, ChatUser>();

/** The target receivers connect to: another node when the system has two. */
const receiving: Target = { ...target, port: request.receiverPort ?? request.port };

/**
 * Connects (and for chat registers) `names`, a few at a time; `receives(i)`
 * says which of them are receivers.
 */
async function connectAll(
  names: string[],
  join = true,
  receives: (i: number) => boolean = () => false,
): Promise<BenchConnection[]> {
  const out: BenchConnection[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      out[i] = await connect(names[i], "register", join, receives(i) ? receiving : target);
    }
  };
  await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, worker));
  return out;
}

async function connect(
  name: string,
  kind: "register" | "login",
  join: boolean,
  to: Target = target,
): Promise<BenchConnection> {
  if (protocolOf(to.system) === "irc") return await ircConnect(to, name, join);
  let user = users.get(name);
  if (user === undefined) {
    user = await makeChatUser(name, to.authority!);
    users.set(name, user);
  }
  return await chatConnect(to, user, kind);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Resolves when `done()` holds, checked at each delivery; fails after WAIT_MS. */
function until(done: () => boolean, hook: (check: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for deliveries")), WAIT_MS);
    hook(() => {
      if (done()) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * Measures `phase`: wall time, server CPU and our own CPU over it, once the
 * server has finished the work of the set-up (the `joined` notices of every
 * connection made for it, the `left` ones of every connection closed).
 */
async function measured(phase: () => Promise<void>) {
  await serverSettled();
  const profiler = request.profile !== undefined && request.inspectPort !== undefined
    ? await Inspector.open(request.inspectPort)
    : undefined;
  if (profiler !== undefined) {
    await profiler.call("Profiler.enable");
    await profiler.call("Profiler.setSamplingInterval", { interval: 200 });
    await profiler.call("Profiler.start");
  }
  const server0 = request.serverPids.map((pid) => treeCpuMs([pid]));
  const self0 = cpuMs("self");
  const start = performance.now();
  await phase();
  const wallMs = performance.now() - start;
  const partsCpuMs = request.serverPids.map((pid, i) => treeCpuMs([pid]) - server0[i]);
  if (profiler !== undefined) {
    const { profile } = await profiler.call("Profiler.stop") as { profile: unknown };
    await Deno.writeTextFile(request.profile!, JSON.stringify(profile));
    profiler.close();
  }
  return {
    wallMs,
    serverCpuMs: partsCpuMs.reduce((sum, ms) => sum + ms, 0),
    partsCpuMs,
    selfCpuMs: cpuMs("self") - self0,
  };
}

/**
 * The cores the system kept busy and, for a system of parts (bench/cluster.ts),
 * its CPU per delivery split into its chat nodes, PostgreSQL and NATS, and the
 * busiest node's share of the nodes' CPU (100% for one node, about 50% for
 * two that share the work). A node that did no work is reported on stderr:
 * it served nobody, or was not counted.
 */
function partRows(
  scenario: string,
  result: { wallMs: number; serverCpuMs: number; partsCpuMs: number[] },
  deliveries: number,
) {
  row(scenario, "server cores busy", result.serverCpuMs / result.wallMs, "cores");
  const parts = request.serverParts;
  if (parts === undefined) return;
  const nodes = result.partsCpuMs.filter((_, i) => parts[i].startsWith("chat node"));
  for (const [i, ms] of nodes.entries()) {
    if (ms <= 0) console.error(`bench: ${request.system}, ${scenario}: node ${i + 1} used no CPU`);
  }
  const sum = (values: number[]) => values.reduce((total, ms) => total + ms, 0);
  const perDelivery = (ms: number) => (ms * 1000) / deliveries;
  row(scenario, "server CPU per delivery: chat nodes", perDelivery(sum(nodes)), "us");
  for (const engine of ["PostgreSQL", "NATS"]) {
    const ms = sum(result.partsCpuMs.filter((_, i) => parts[i] === engine));
    row(scenario, `server CPU per delivery: ${engine}`, perDelivery(ms), "us");
  }
  row(scenario, "busiest node's share of chat CPU", (100 * Math.max(...nodes)) / sum(nodes), "%");
}

async function fanout(scenario: string, receiverCount: number, messages: number, rate?: number) {
  const receivers = await connectAll(
    Array.from({ length: receiverCount }, (_, i) => `r${i}`),
    true,
    () => true,
  );
  const [sender] = await connectAll(["sender"]);
  let delivered = 0;
  let bytes = 0;
  const expected = receiverCount * messages;
  const latencies: number[] = [];
  let check = () => {};
  for (const receiver of receivers) {
    receiver.onMessage = (text, size) => {
      delivered++;
      bytes += size;
      if (rate !== undefined) latencies.push(performance.now() - sendTime(text));
      check();
    };
  }
  const all = until(() => delivered >= expected, (c) => check = c);
  // A burst is signed ahead; paced messages carry their send time, so are signed as sent.
  const burst = rate === undefined
    ? Array.from({ length: messages }, (_, i) => sender.preparePublic(messageText(i)))
    : [];
  const result = await measured(async () => {
    const start = performance.now();
    for (let i = 0; i < messages; i++) {
      if (rate !== undefined) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        sender.sendPublic(messageText(i));
      } else {
        sender.sendPrepared(burst[i]);
      }
      if (rate !== undefined || i % 50 === 49) await sender.flushed();
    }
    await sender.flushed();
    await all;
  });
  if (rate === undefined) {
    row(scenario, "deliveries per second", expected / (result.wallMs / 1000), "1/s");
    row(scenario, "server CPU per delivery", (result.serverCpuMs * 1000) / expected, "us");
    row(scenario, "bytes per delivery", bytes / delivered, "B");
    row(scenario, "server CPU per byte delivered", (result.serverCpuMs * 1e6) / bytes, "ns");
    partRows(scenario, result, expected);
  } else {
    latencies.sort((a, b) => a - b);
    row(scenario, "latency p50", percentile(latencies, 50), "ms");
    row(scenario, "latency p99", percentile(latencies, 99), "ms");
    row(scenario, "server CPU per delivery", (result.serverCpuMs * 1000) / expected, "us");
  }
  row(scenario, "generator CPU share", (100 * result.selfCpuMs) / result.wallMs, "% of a core");
  for (const c of [...receivers, sender]) c.close();
}

async function pairs(pairCount: number, messages: number) {
  const names = Array.from({ length: pairCount * 2 }, (_, i) => `p${i}`);
  // Odd ones receive: on the second node when there are two.
  const connections = await connectAll(names, false, (i) => i % 2 === 1);
  if (protocolOf(target.system) === "chat") {
    // The bench knows every user's keys; a real client would fetch and pin them.
    for (let i = 0; i < connections.length; i++) {
      const partner = users.get(names[i ^ 1])!;
      (connections[i] as unknown as { addPeer(user: ChatUser): void }).addPeer(partner);
    }
  }
  let delivered = 0;
  let bytes = 0;
  const expected = pairCount * messages;
  let check = () => {};
  for (let i = 1; i < connections.length; i += 2) {
    connections[i].onMessage = (_text, size) => {
      delivered++;
      bytes += size;
      check();
    };
  }
  const all = until(() => delivered >= expected, (c) => check = c);
  // Made ahead, so that the generator's crypto does not compete with the server.
  const texts = Array.from({ length: messages }, (_, i) => messageText(i));
  const frames = Array.from(
    { length: pairCount },
    (_, p) => connections[2 * p].preparePrivateBurst(names[2 * p + 1], texts),
  );
  const result = await measured(async () => {
    await Promise.all(Array.from({ length: pairCount }, async (_, p) => {
      const sender = connections[2 * p];
      for (let i = 0; i < messages; i++) {
        sender.sendPrepared(frames[p][i]);
        if (i % 50 === 49) await sender.flushed();
      }
      await sender.flushed();
    }));
    await all;
  });
  row("private pairs", "deliveries per second", expected / (result.wallMs / 1000), "1/s");
  row("private pairs", "server CPU per delivery", (result.serverCpuMs * 1000) / expected, "us");
  row("private pairs", "bytes per delivery", bytes / delivered, "B");
  row("private pairs", "server CPU per byte delivered", (result.serverCpuMs * 1e6) / bytes, "ns");
  partRows("private pairs", result, expected);
  row(
    "private pairs",
    "generator CPU share",
    (100 * result.selfCpuMs) / result.wallMs,
    "% of a core",
  );
  for (const c of connections) c.close();
}

async function logins(total: number, concurrency: number) {
  const names = Array.from({ length: total }, (_, i) => `l${i}`);
  if (protocolOf(target.system) === "chat") {
    // Registered beforehand (not measured), then logged out.
    for (const c of await connectAll(names, false)) c.close();
  }
  const latencies: number[] = [];
  let next = 0;
  const result = await measured(async () => {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const name = names[next++];
        const start = performance.now();
        const connection = await connect(name, "login", false);
        latencies.push(performance.now() - start);
        connection.close();
      }
    }));
  });
  latencies.sort((a, b) => a - b);
  row("login storm", "logins per second", total / (result.wallMs / 1000), "1/s");
  row("login storm", "login latency p99", percentile(latencies, 99), "ms");
  row("login storm", "server CPU per login", result.serverCpuMs / total, "ms");
  row(
    "login storm",
    "generator CPU share",
    (100 * result.selfCpuMs) / result.wallMs,
    "% of a core",
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Server CPU below this share of a core over SETTLE_WINDOW_MS: it has finished what came before. */
const SETTLED_SHARE = 0.02;
const SETTLE_WINDOW_MS = 250;
const SETTLE_LIMIT_MS = 15_000;

/** Waits (boundedly) until the server has done the work of the previous phase. */
async function serverSettled(): Promise<void> {
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  let last = treeCpuMs(request.serverPids);
  while (performance.now() < deadline) {
    await sleep(SETTLE_WINDOW_MS);
    const now = treeCpuMs(request.serverPids);
    if (now - last < SETTLED_SHARE * SETTLE_WINDOW_MS) return;
    last = now;
  }
}

/**
 * A full garbage collection in a Deno server, through its V8 inspector
 * (HeapProfiler.collectGarbage), so that nothing is added to the servers
 * for the bench. InspIRCd has no collector: for it this only waits.
 */
async function collectGarbage(): Promise<number | null> {
  if (request.inspectPort === undefined) {
    await sleep(1000);
    return null;
  }
  const inspector = await Inspector.open(request.inspectPort);
  await inspector.call("HeapProfiler.collectGarbage");
  await inspector.call("HeapProfiler.collectGarbage");
  const usage = await inspector.call("Runtime.getHeapUsage") as { usedSize: number };
  inspector.close();
  await sleep(1000); // for freed pages to leave the resident set
  return usage.usedSize / 1024;
}

/** A session with a Deno server's V8 inspector (Chrome DevTools Protocol over a WebSocket). */
class Inspector {
  #nextId = 1;
  readonly #replies = new Map<number, (result: unknown) => void>();

  private constructor(readonly socket: WebSocket) {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.#replies.get(message.id)?.(message.result);
      this.#replies.delete(message.id);
    };
  }

  static async open(port: number): Promise<Inspector> {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return new Inspector(socket);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#replies.set(id, resolve);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

async function idle(count: number) {
  const heapBefore = await collectGarbage();
  const before = treeRssKiB(request.serverPids);
  const connections = await connectAll(Array.from({ length: count }, (_, i) => `i${i}`), false);
  await sleep(2000);
  const after = treeRssKiB(request.serverPids);
  const heapAfter = await collectGarbage();
  const collected = treeRssKiB(request.serverPids);
  row("idle", "server memory per connection", (after - before) / count, "KiB");
  row("idle", "server memory per connection after a full GC", (collected - before) / count, "KiB");
  if (heapBefore !== null && heapAfter !== null) {
    // The part of it in V8's heap (JS objects); the rest is native memory.
    row(
      "idle",
      "JS heap memory per connection after a full GC",
      (heapAfter - heapBefore) / count,
      "KiB",
    );
  }
  for (const c of connections) c.close();
}

switch (request.scenario) {
  case "fanout":
    await fanout("fan-out burst", request.receivers!, request.messages!);
    break;
  case "paced":
    await fanout(
      `fan-out paced ${request.rate}/s`,
      request.receivers!,
      request.messages!,
      request.rate,
    );
    break;
  case "pairs":
    await pairs(request.pairs!, request.messages!);
    break;
  case "logins":
    await logins(request.logins!, request.concurrency!);
    break;
  case "idle":
    await idle(request.connections!);
    break;
}
console.log(JSON.stringify(rows));
Deno.exit(0);
