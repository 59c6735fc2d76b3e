/**
 * The cluster systems of the bench (SPEC sections 6 and 7): chat on
 * PostgreSQL + NATS with one node ("chat-pg"); with two nodes ("chat-pg2"),
 * senders on the first and receivers on the second, so every delivery
 * crosses the bus; and with two nodes sharing one port ("chat-pg2-port",
 * `chat server --reuse-port`: more cores on one machine, every client
 * connects to the same port and the kernel picks the node). Beside "chat"
 * (one node on SQLite) in the same run. The engines (testing/engines.ts)
 * start once per bench run, with PostgreSQL's production durability (fsync,
 * synchronous_commit on); each scenario gets a fresh database and fresh
 * nodes. Server CPU counts the nodes, PostgreSQL (the postmaster and every
 * process under it: backends, writers, autovacuum) and nats-server, and is
 * also reported per part.
 */

import { type Engine, engineProblem, startNats, startPostgres } from "../testing/engines.ts";
import { connectPostgres } from "../db/postgres/driver.ts";

export const CLUSTER_SYSTEMS = ["chat-pg", "chat-pg2", "chat-pg2-port"] as const;
export const CLUSTER_TITLES: Record<string, string> = {
  "chat-pg": "chat PG+NATS 1 node",
  "chat-pg2": "chat PG+NATS 2 nodes",
  "chat-pg2-port": "chat PG+NATS 2 nodes, 1 port",
};
/** What the cluster systems run: deliveries and latency (logins and idle memory are per node). */
export const CLUSTER_SCENARIOS = new Set(["fanout", "paced", "pairs"]);

export function isClusterSystem(system: string): boolean {
  return (CLUSTER_SYSTEMS as readonly string[]).includes(system);
}

/** Why the cluster systems cannot run here, or null. */
export function clusterProblem(): string | null {
  return engineProblem();
}

interface Engines {
  postgres: Engine;
  nats: Engine;
  databases: number;
}
let engines: Promise<Engines> | null = null;

function startEngines(): Promise<Engines> {
  engines ??= (async () => {
    const postgres = await startPostgres({ durable: true });
    try {
      return { postgres, nats: await startNats(), databases: 0 };
    } catch (error) {
      await postgres.stop();
      throw error;
    }
  })();
  return engines;
}

export async function stopEngines(): Promise<void> {
  if (engines === null) return;
  const { postgres, nats } = await engines;
  engines = null;
  await nats.stop();
  await postgres.stop();
}

/** A chat node as bench/servers.ts starts one, with extra flags, on `port` (0: a free one). */
export interface NodeStarter {
  (
    extraFlags: string[],
    port: number,
  ): Promise<{ port: number; pid: number; stop(): Promise<void> }>;
}

export interface ClusterServer {
  /** Where senders connect (the first node). */
  port: number;
  /** Where receivers connect (the second node, or the first). */
  receiverPort: number;
  pids: number[];
  /** What each of `pids` is, for CPU per part. */
  parts: string[];
  stop(): Promise<void>;
}

/** Starts `system`'s nodes on a fresh database of the shared engines. */
export async function startClusterSystem(
  system: string,
  startNode: NodeStarter,
): Promise<ClusterServer> {
  const shared = await startEngines();
  const name = `bench_${++shared.databases}`;
  const admin = await connectPostgres(shared.postgres.url, { max: 1, applicationName: "bench" });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = shared.postgres.url.replace(/\/chat$/, `/${name}`);
  const sharedPort = system === "chat-pg2-port";
  const flags = [
    "--database",
    url,
    "--bus",
    shared.nats.url,
    ...sharedPort ? ["--reuse-port"] : [],
  ];
  const first = await startNode(flags, 0);
  const nodes = [first];
  try {
    if (system === "chat-pg2") nodes.push(await startNode(flags, 0));
    if (sharedPort) nodes.push(await startNode(flags, first.port));
  } catch (error) {
    await first.stop();
    throw error;
  }
  return {
    port: first.port,
    // With a shared port, receivers connect where senders do (the kernel spreads both).
    receiverPort: nodes.at(-1)!.port,
    pids: [...nodes.map((node) => node.pid), shared.postgres.pid, shared.nats.pid],
    parts: [...nodes.map((_, i) => `chat node ${i + 1}`), "PostgreSQL", "NATS"],
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}
