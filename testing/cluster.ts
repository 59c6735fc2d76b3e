/**
 * Several `chat server` nodes on one PostgreSQL and one NATS (SPEC section
 * 7), for tests and the bench: the engines from testing/engines.ts, one data
 * directory (every node serves the same serverkeys/), and nodes started and
 * killed at will, each a real process through the server task's flags.
 */

import { makeDataDir, ServerProcess } from "./chat.ts";
import { type Engine, type PostgresOptions, startNats, startPostgres } from "./engines.ts";

export interface Cluster {
  dir: string;
  postgres: Engine;
  nats: Engine;
  nodes: ServerProcess[];
  /** Starts one more node (on `port` if given); it joins `nodes`. */
  startNode(flags?: string[], port?: number): Promise<ServerProcess>;
  /** The flags that put a node on this cluster's engines. */
  flags: string[];
  /** Stops every node, then the engines. */
  stop(): Promise<void>;
}

export interface ClusterOptions extends PostgresOptions {
  /** Nodes to start at once (default 2). */
  nodes?: number;
  /** Extra flags for every node (limits). */
  flags?: string[];
  /** A data directory made already (default: a fresh one with `chat ca init`). */
  dir?: string;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = options.dir ?? await makeDataDir();
  const postgres = await startPostgres(options);
  let nats: Engine;
  try {
    nats = await startNats();
  } catch (error) {
    await postgres.stop();
    throw error;
  }
  const flags = ["--database", postgres.url, "--bus", nats.url, ...(options.flags ?? [])];
  const nodes: ServerProcess[] = [];
  const cluster: Cluster = {
    dir,
    postgres,
    nats,
    nodes,
    flags,
    async startNode(extra = [], port = 0) {
      const node = await ServerProcess.start(dir, [...flags, ...extra], port);
      nodes.push(node);
      return node;
    },
    async stop() {
      await Promise.all(nodes.map((node) => stopNode(node)));
      await cluster.nats.stop();
      await postgres.stop();
    },
  };
  try {
    // All at once: the schema migration is safe when nodes start together.
    await Promise.all(Array.from({ length: options.nodes ?? 2 }, () => cluster.startNode()));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** Stops a node (SIGTERM), or kills it when it has not exited within the deadline. */
export async function stopNode(node: ServerProcess, deadlineMs = 20_000): Promise<void> {
  const timer = setTimeout(() => node.kill(), deadlineMs);
  try {
    await node.stop();
  } finally {
    clearTimeout(timer);
  }
}
