/**
 * `deno task bench`: chat side by side with InspIRCd, the IRC server, on
 * this machine, in one run. Each scenario gets a fresh server of each system
 * and the load generator (bench/load.ts) as a separate process; results go
 * to a table on stdout, bench/results/latest.json and bench/results/chart.svg.
 *
 *   deno task bench [--quick] [--only fanout,paced,pairs,logins,idle,history]
 *
 * Scenarios (full size; --quick runs each smaller, in under two minutes):
 *   fanout   200 receivers, one sender, 2,000 public messages of ~100 bytes
 *   paced    the same at 250 and 1,000 messages per second: latency
 *   pairs    100 pairs, 2,000 private messages each
 *   logins   500 mutual-TLS logins, 50 at a time
 *   idle     2,000 logged-in idle connections: server memory per connection
 *   history  login with 10,000 and 100,000 messages of history (chat only)
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeDataDir, ServerProcess } from "../tests/harness.ts";
import { measureHistory, median } from "./history.ts";
import type { LoadRequest, Row } from "./load.ts";
import { ensureInspircd, startInspircd } from "./peer.ts";
import { chart, table } from "./report.ts";
import type { SystemName } from "./systems.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean" },
    only: { type: "string" },
  },
});
const quick = values.quick ?? false;
const only = values.only?.split(",");
const wanted = (scenario: string) => only === undefined || only.includes(scenario);

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
  }
  : {
    receivers: 200,
    messages: 2000,
    paced: [[250, 2000], [1000, 4000]],
    pairs: 100,
    pairMessages: 2000,
    logins: 500,
    concurrency: 50,
    idle: 2000,
    history: [10_000, 100_000],
  };

/** chat's limits, lifted as the peer's throttles are (bench/inspircd/inspircd.conf). */
const CHAT_FLAGS = [
  "--rate",
  "1000000",
  "--burst",
  "1000000",
  "--max-connections",
  "100000",
  "--max-per-address",
  "100000",
  "--max-anonymous",
  "100000",
  "--login-attempts",
  "1000000",
  "--max-queued",
  "65536",
  "--idle-timeout",
  "3600",
];

const LOAD = fileURLToPath(new URL("./load.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

const peerProblem = await ensureInspircd();
if (peerProblem !== null) console.error(`bench: InspIRCd skipped: ${peerProblem}`);
const systems: SystemName[] = peerProblem === null ? ["chat", "inspircd"] : ["chat"];

const rows: Row[] = [];

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

/** Runs one scenario against a fresh server of `system`. */
async function scenario(system: SystemName, request: Partial<LoadRequest>): Promise<void> {
  const dir = await makeDataDir();
  const caCertificate = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
  const base = { system, dir, caCertificate } as const;
  try {
    // Either system, as a running process: its port, its PID (for /proc), and how to stop it.
    const server = system === "chat"
      ? await ServerProcess.start(dir, CHAT_FLAGS)
      : await startInspircd(
        join(dir, "serverkeys", "server.crt"),
        join(dir, "serverkeys", "server.key"),
      );
    try {
      const load = { ...base, ...request, port: server.port, serverPid: server.pid };
      rows.push(...await runLoad(load as LoadRequest));
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  console.error(`bench: ${request.scenario} on ${system} done`);
}

const started = performance.now();
for (const system of systems) {
  if (wanted("fanout")) {
    await scenario(system, {
      scenario: "fanout",
      receivers: SIZES.receivers,
      messages: SIZES.messages,
    });
  }
  if (wanted("paced")) {
    for (const [rate, messages] of SIZES.paced) {
      await scenario(system, { scenario: "paced", receivers: SIZES.receivers, messages, rate });
    }
  }
  if (wanted("pairs")) {
    await scenario(system, { scenario: "pairs", pairs: SIZES.pairs, messages: SIZES.pairMessages });
  }
  if (wanted("logins")) {
    await scenario(system, {
      scenario: "logins",
      logins: SIZES.logins,
      concurrency: SIZES.concurrency,
    });
  }
  if (wanted("idle")) await scenario(system, { scenario: "idle", connections: SIZES.idle });
}
if (wanted("history")) {
  for (const count of SIZES.history) {
    const times = await measureHistory(count, quick ? 3 : 5);
    for (const kind of ["first", "later"] as const) {
      rows.push({
        scenario: `history ${count.toLocaleString("en-US")}`,
        system: "chat",
        metric: `time to show, ${kind} login`,
        value: median(times[kind]),
        unit: "ms",
      });
    }
    console.error(`bench: history of ${count} done`);
  }
}

const elapsed = ((performance.now() - started) / 1000).toFixed(0);
console.log(table(rows));
console.log(
  `\n${
    quick ? "quick" : "full"
  } run in ${elapsed} s, ${Deno.build.target}, ${navigator.hardwareConcurrency} cores`,
);

const results = fileURLToPath(new URL("./results/", import.meta.url));
await Deno.mkdir(results, { recursive: true });
const suffix = quick ? "quick" : "latest";
await Deno.writeTextFile(join(results, `${suffix}.json`), JSON.stringify(rows, null, 2) + "\n");
if (!quick) {
  await Deno.writeTextFile(
    join(results, "chart.svg"),
    chart(
      rows,
      `chat vs InspIRCd 3.15, same machine, same run (${new Date().toISOString().slice(0, 10)})`,
    ),
  );
}
