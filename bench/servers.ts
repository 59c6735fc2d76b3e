/**
 * Starts one system's server as its own process on a free loopback port, for
 * one scenario: chat (`chat server`, with the permission flags of its task in
 * deno.json), a baseline build of chat from another directory ("chat-before",
 * to measure a change before and after in one run), the floor
 * (bench/floor.ts), InspIRCd (bench/peer.ts), or chat's nodes on PostgreSQL
 * and NATS (bench/cluster.ts). Each is stopped by its PID.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startInspircd } from "./peer.ts";
import type { SystemName } from "./systems.ts";
import { isClusterSystem, startClusterSystem } from "./cluster.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FLOOR = fileURLToPath(new URL("./floor.ts", import.meta.url));

/** chat's limits, lifted as the peer's throttles are (bench/inspircd/inspircd.conf). */
export const CHAT_FLAGS = [
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
  "--messages-per-minute",
  "100000000",
  "--stored-per-day",
  "1000000",
];

export interface RunningServer {
  port: number;
  /** Where receivers connect, when not `port` (two nodes: bench/cluster.ts). */
  receiverPort?: number;
  /** The processes to charge CPU and memory to (their descendants too). */
  pids: number[];
  /** What each of `pids` is, when CPU is also reported per part (bench/cluster.ts). */
  parts?: string[];
  /** The V8 inspector's port, when started with one (to force a full GC). */
  inspectPort?: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Start a Deno server with the V8 inspector on a loopback port. */
  inspect?: boolean;
  /** chat-before: the root of the baseline build. */
  beforeRoot?: string;
}

/** The `deno run` flags of deno.json's server task under `root`. */
function serverTaskFlags(root: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  const match = /^deno run (.*) main\.ts server$/.exec(config.tasks.server.command);
  if (match === null) throw new Error(`${root}: the server task is not "deno run ... main.ts"`);
  return match[1].split(" ");
}

/** Starts `system` with its data (keys, database) in `dir`. */
export async function startServer(
  system: SystemName,
  dir: string,
  options: StartOptions = {},
): Promise<RunningServer> {
  if (system === "inspircd") {
    return await startInspircd(
      join(dir, "serverkeys", "server.crt"),
      join(dir, "serverkeys", "server.key"),
    );
  }
  if (isClusterSystem(system)) {
    return await startClusterSystem(system, async (extraFlags, port) => {
      const node = await startProcess("chat", dir, options, extraFlags, port);
      return { port: node.port, pid: node.pids[0], stop: node.stop };
    });
  }
  return await startProcess(system, dir, options, [], 0);
}

/** Starts a Deno server: chat (with `extraFlags`, on `port`), chat-before or the floor. */
async function startProcess(
  system: SystemName,
  dir: string,
  options: StartOptions,
  extraFlags: string[],
  port: number,
): Promise<RunningServer> {
  const inspectPort = options.inspect ? freePort() : undefined;
  const inspect = inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`];
  let args: string[];
  if (system === "floor") {
    args = ["run", "--quiet", "--allow-read", "--allow-net", ...inspect, FLOOR, dir];
  } else {
    const root = system === "chat" ? ROOT : options.beforeRoot;
    if (root === undefined) throw new Error(`unknown system ${system}`);
    args = [
      "run",
      `--config=${join(root, "deno.json")}`,
      ...serverTaskFlags(root),
      ...inspect,
      join(root, "main.ts"),
      "server",
      String(port),
      "--host",
      "127.0.0.1",
      ...CHAT_FLAGS,
      ...extraFlags,
    ];
  }
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const errors = collect(child.stderr);
  try {
    const port = await listeningPort(child.stdout);
    return {
      port,
      pids: [child.pid],
      inspectPort,
      async stop() {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
        await child.status;
      },
    };
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    throw new Error(`${system} did not start: ${(error as Error).message}\n${await errors}`);
  }
}

/** Reads stdout up to "listening on HOST:PORT", then keeps draining it (the log). */
async function listeningPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("exited before listening");
    text += value;
    const match = /^listening on .*:(\d+)$/m.exec(text);
    if (match !== null) {
      (async () => {
        while (!(await reader.read()).done) { /* the log: not measured here */ }
      })().catch(() => {});
      return Number(match[1]);
    }
  }
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text = (text + chunk).slice(-4096);
  }
  return text;
}
