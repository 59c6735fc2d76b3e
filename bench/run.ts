/**
 * `deno task bench`: chat side by side with the floor (bench/floor.ts, the
 * least a Deno node:tls server does to speak chat's wire format) and
 * InspIRCd, the IRC server, on this machine, in one run (SPEC section 6).
 * Each scenario gets a fresh server of each system and the load generator
 * (bench/load.ts) as a separate process. Systems take turns within each
 * scenario, in an order rotated every round; each run waits (boundedly) for
 * a quiet machine first. The table shows medians with min-max over the
 * rounds; results go to stdout, bench/results/latest.json and chart.svg.
 *
 *   deno task bench [--quick] [--rounds N] [--before DIR] [--no-cluster]
 *                   [--only fanout,paced,pairs,logins,idle,history,probes,history-memory]
 *                   [--profile DIR] [--systems chat,floor,...]
 *
 * --profile DIR writes a CPU profile of each Deno server over each measured
 * phase to DIR (figures of such a run are not comparable with others').
 *
 * --before DIR adds "chat-before", the chat build in DIR (for instance from
 * `git archive COMMIT | tar -x -C DIR`), to measure a change before and after
 * with the same method in the same run.
 *
 * With PostgreSQL and nats-server installed, chat also runs as one node, as
 * two nodes and as two nodes sharing one port on them (bench/cluster.ts:
 * fan-out, paced and pairs), unless --no-cluster.
 *
 * Scenarios (full size; --quick runs each smaller, once):
 *   fanout   200 receivers, one sender, 2,000 public messages of ~100 bytes
 *   paced    the same at 250 and 1,000 messages per second: latency
 *   pairs    100 pairs, 2,000 private messages each
 *   logins   2,000 mutual-TLS logins, 50 at a time
 *   idle     2,000 logged-in idle connections: server memory per connection
 *   history  login with 10,000 and 100,000 messages of history (chat only)
 *   probes   echo latency while 4 accounts ask for unknown names, 20,000 users
 *            (chat only)
 *   history-memory  10 users log in at once with 100,000 messages of history
 *            each, reading it and not: server RSS per login (chat only)
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeDataDir } from "../testing/chat.ts";
import { measureHistory } from "./history.ts";
import { measureHistoryMemory } from "./history_memory.ts";
import { measureProbes } from "./probes.ts";
import type { LoadRequest, Row } from "./load.ts";
import { ensureInspircd } from "./peer.ts";
import { machineBusyCores } from "./proc.ts";
import { chart, type RunNote, summarize, table } from "./report.ts";
import { CHAT_FLAGS, startServer } from "./servers.ts";
import type { SystemName } from "./systems.ts";
import {
  CLUSTER_SCENARIOS,
  CLUSTER_SYSTEMS,
  clusterProblem,
  isClusterSystem,
  stopEngines,
} from "./cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean" },
    only: { type: "string" },
    rounds: { type: "string" },
    before: { type: "string" },
    "no-cluster": { type: "boolean" },
    profile: { type: "string" },
    systems: { type: "string" },
  },
});
const quick = values.quick ?? false;
const only = values.only?.split(",");
const wanted = (scenario: string) => only === undefined || only.includes(scenario);
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds: a positive integer");

const SIZES = quick
  ? {
    receivers: 50,
    messages: 200,
    paced: [[250, 250], [1000, 500]],
    pairs: 20,
    pairMessages: 200,
    logins: 100,
    concurrency: 20,
    idle: 300,
    history: [2_000],
    historyMemory: [10, 10_000],
  }
  : {
    receivers: 200,
    messages: 2000,
    paced: [[250, 2000], [1000, 4000]],
    pairs: 100,
    pairMessages: 2000,
    logins: 2000,
    concurrency: 50,
    idle: 2000,
    history: [10_000, 100_000],
    historyMemory: [10, 100_000],
  };

/** A machine is quiet when all its processes keep less than this many cores busy. */
const QUIET_CORES = 0.3;
/** How long a run waits for a quiet machine before it goes ahead anyway (and says so). */
const QUIET_WAIT_MS = quick ? 2_000 : 10_000;

const LOAD = fileURLToPath(new URL("./load.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

const peerProblem = await ensureInspircd();
if (peerProblem !== null) console.error(`bench: InspIRCd skipped: ${peerProblem}`);
const cluster = values["no-cluster"] ? "--no-cluster" : clusterProblem();
if (cluster !== null) console.error(`bench: cluster systems skipped: ${cluster}`);
const systems: SystemName[] = [
  "chat",
  "floor",
  ...(peerProblem === null ? ["inspircd"] : []),
  ...(values.before === undefined ? [] : ["chat-before"]),
  ...(cluster === null ? CLUSTER_SYSTEMS : []),
].filter((system) => values.systems === undefined || values.systems.split(",").includes(system));

type Request = Omit<LoadRequest, "system" | "port" | "serverPids" | "dir" | "caCertificate">;
const scenarios: Request[] = [];
if (wanted("fanout")) {
  scenarios.push({ scenario: "fanout", receivers: SIZES.receivers, messages: SIZES.messages });
}
if (wanted("paced")) {
  for (const [rate, messages] of SIZES.paced) {
    scenarios.push({ scenario: "paced", receivers: SIZES.receivers, messages, rate });
  }
}
if (wanted("pairs")) {
  scenarios.push({ scenario: "pairs", pairs: SIZES.pairs, messages: SIZES.pairMessages });
}
if (wanted("logins")) {
  scenarios.push({ scenario: "logins", logins: SIZES.logins, concurrency: SIZES.concurrency });
}
if (wanted("idle")) scenarios.push({ scenario: "idle", connections: SIZES.idle });

const rows: Row[] = [];
const notes: RunNote[] = [];

async function runLoad(request: LoadRequest): Promise<Row[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    // --allow-all: Deno grants another process's /proc entries to nothing less.
    args: ["run", "--quiet", `--config=${CONFIG}`, "--allow-all", LOAD, JSON.stringify(request)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`load generator failed: ${new TextDecoder().decode(stderr)}`);
  }
  const text = new TextDecoder().decode(stdout).trim().split("\n").at(-1)!;
  return JSON.parse(text);
}

/** Waits until the machine is quiet, for QUIET_WAIT_MS at most; returns the last busy figure. */
async function quietMachine(): Promise<{ busyCores: number; waitedMs: number }> {
  const start = performance.now();
  for (;;) {
    const busyCores = await machineBusyCores(500);
    const waitedMs = performance.now() - start;
    if (busyCores < QUIET_CORES || waitedMs >= QUIET_WAIT_MS) return { busyCores, waitedMs };
  }
}

/** Runs one scenario against a fresh server of `system`. */
async function scenario(system: SystemName, request: Request, round: number): Promise<void> {
  const dir = await makeDataDir();
  const caCertificate = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
  try {
    const server = await startServer(system, dir, {
      inspect: request.scenario === "idle" || values.profile !== undefined,
      beforeRoot: values.before,
    });
    try {
      const quiet = await quietMachine();
      notes.push({ round, scenario: request.scenario, system, ...quiet });
      const load: LoadRequest = {
        ...request,
        system,
        dir,
        caCertificate,
        port: server.port,
        receiverPort: server.receiverPort,
        serverPids: server.pids,
        serverParts: server.parts,
        inspectPort: server.inspectPort,
        profile: values.profile === undefined
          ? undefined
          : join(values.profile, `${request.scenario}-${system}-${round + 1}.cpuprofile`),
      };
      rows.push(...await runLoad(load));
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  console.error(`bench: round ${round + 1}, ${request.scenario} on ${system} done`);
}

const started = performance.now();
try {
  for (let round = 0; round < rounds; round++) {
    // Every system takes its turn in each scenario; who goes first rotates each round.
    const order = systems.map((_, i) => systems[(i + round) % systems.length]);
    for (const request of scenarios) {
      for (const system of order) {
        if (isClusterSystem(system) && !CLUSTER_SCENARIOS.has(request.scenario)) continue;
        await scenario(system, request, round);
      }
    }
  }
} finally {
  // PostgreSQL and nats-server, when the cluster systems started them.
  await stopEngines();
}
if (wanted("history")) {
  for (const count of SIZES.history) {
    const times = await measureHistory(count, quick ? 3 : 5);
    for (const kind of ["first", "later"] as const) {
      for (const value of times[kind]) {
        rows.push({
          scenario: `history ${count.toLocaleString("en-US")}`,
          system: "chat",
          metric: `time to show, ${kind} login`,
          value,
          unit: "ms",
        });
      }
    }
    console.error(`bench: history of ${count} done`);
  }
}

if (wanted("history-memory")) {
  const [users, messages] = SIZES.historyMemory;
  const m = await measureHistoryMemory(users, messages, CHAT_FLAGS);
  const scenario = `${users} logins, ${messages.toLocaleString("en-US")} history each`;
  const row = (metric: string, value: number, unit: string): Row => ({
    scenario,
    system: "chat",
    metric,
    value,
    unit,
  });
  const perLogin = (kib: number) => (kib - m.idleKiB) / users / 1024;
  rows.push(
    row("server RSS per login, reading", perLogin(m.readingKiB), "MiB"),
    row("server RSS per login, not reading", perLogin(m.stalledKiB), "MiB"),
    row("time for all to read their history", m.readMs, "ms"),
  );
  console.error(`bench: history memory done`);
}

if (wanted("probes")) {
  const m = await measureProbes(quick ? 5_000 : 20_000, 4, quick ? 4 : 10);
  const scenario = `${m.probers} probing unknown names, ${m.users.toLocaleString("en-US")} users`;
  const row = (metric: string, value: number, unit: string): Row => ({
    scenario,
    system: "chat",
    metric,
    value,
    unit,
  });
  rows.push(
    row("echo latency p50, probed", m.probed[0], "ms"),
    row("echo latency p99, probed", m.probed[1], "ms"),
    row("echo latency p50, quiet", m.quiet[0], "ms"),
    row("unknown-name lookups answered", m.probesPerSecond, "/s"),
  );
  console.error(`bench: probes done`);
}

const summary = summarize(rows);
const elapsed = (performance.now() - started) / 1000;
const busyRuns = notes.filter((n) => n.busyCores >= QUIET_CORES);
const machine = `${Deno.build.target}, ${navigator.hardwareConcurrency} cores`;
const noisy = busyRuns.length === 0
  ? "every run started on a quiet machine"
  : `${busyRuns.length} of ${notes.length} runs started on a busy machine after waiting ` +
    `${QUIET_WAIT_MS / 1000} s (up to ${
      Math.max(...busyRuns.map((n) => n.busyCores)).toFixed(2)
    } cores busy with other work)`;
console.log(table(summary, systems));
console.log(
  `\n${quick ? "quick" : "full"} run, ${rounds} round(s), in ${
    elapsed.toFixed(0)
  } s, ${machine}; ` +
    `medians (min-max); ${noisy}`,
);

const results = fileURLToPath(new URL("./results/", import.meta.url));
await Deno.mkdir(results, { recursive: true });
const date = new Date().toISOString().slice(0, 10);
const report = {
  date,
  kind: quick ? "quick" : "full",
  rounds,
  machine,
  seconds: Math.round(elapsed),
  quiet: { belowCores: QUIET_CORES, waitAtMostMs: QUIET_WAIT_MS, runs: notes },
  rows: summary,
};
// Only a run of every system over every scenario replaces the summaries kept in the repository.
const complete = only === undefined && values.before === undefined &&
  values.profile === undefined && values.systems === undefined;
const file = complete
  ? join(results, `${quick ? "quick" : "latest"}.json`)
  : await Deno.makeTempFile({ prefix: "chat-bench-", suffix: ".json" });
await Deno.writeTextFile(file, JSON.stringify(report, null, 2) + "\n");
console.log(`results: ${file}`);
if (complete && !quick) {
  await Deno.writeTextFile(
    join(results, "chart.svg"),
    chart(summary, `chat against the floor and InspIRCd 3.15, same machine, same run (${date})`),
  );
}
