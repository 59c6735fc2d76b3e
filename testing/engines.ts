/**
 * Starts the engines several server nodes run on (SPEC section 7), for tests
 * and the bench: a throw-away PostgreSQL cluster and a nats-server, each on a
 * free loopback port, stopped by PID. Both come from Debian (`postgresql`,
 * `nats-server`; .ci/run installs them). initdb and pg_ctl refuse to run as
 * root, so under root they run as the `postgres` user, in a temporary
 * directory that user owns.
 *
 * When an engine is missing, `engineProblem()` says why; callers then report
 * their tests SKIPPED, loudly, instead of passing.
 */

import { join } from "node:path";

const POSTGRES_BIN_ROOT = "/usr/lib/postgresql";
const NATS_SERVER = "/usr/sbin/nats-server";
/** How long an engine may take to start on a loaded two-core machine. */
const START_TIMEOUT_MS = 60_000;

export interface Engine {
  /** Where clients connect: postgres://... or nats://... */
  url: string;
  /** PID of the engine's main process (for CPU accounting). */
  pid: number;
  stop(): Promise<void>;
}

/** The bin directory of the newest PostgreSQL installed, or null. */
function postgresBin(): string | null {
  try {
    const versions = [...Deno.readDirSync(POSTGRES_BIN_ROOT)]
      .map((entry) => entry.name)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = join(POSTGRES_BIN_ROOT, version, "bin");
      if (exists(join(bin, "pg_ctl"))) return bin;
    }
  } catch {
    // not installed
  }
  return null;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Why PostgreSQL and NATS cannot be started here, or null when they can. */
export function engineProblem(): string | null {
  const missing = [];
  if (postgresBin() === null) missing.push(`PostgreSQL (no ${POSTGRES_BIN_ROOT}/*/bin/pg_ctl)`);
  if (!exists(NATS_SERVER)) missing.push(`nats-server (no ${NATS_SERVER})`);
  if (missing.length === 0) return null;
  return `${missing.join(" and ")} not installed: apt-get install postgresql nats-server`;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Whether we run as root: the owner of a directory we just made. (Deno.uid()
 * needs --allow-sys and /proc/self needs --allow-all, which tests lack.)
 */
let root: boolean | undefined;
function isRoot(): boolean {
  if (root === undefined) {
    const dir = Deno.makeTempDirSync({ prefix: "chat-uid-" });
    root = Deno.statSync(dir).uid === 0;
    Deno.removeSync(dir);
  }
  return root;
}

/** Runs a PostgreSQL tool, as the `postgres` user when we are root. */
async function runAsPostgres(command: string, args: string[]): Promise<string> {
  const [program, argv] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : [command, args];
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args: argv,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { LC_ALL: "C" },
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`${command} failed (exit ${code}): ${text.trim()}`);
  return text;
}

export interface PostgresOptions {
  /** Durable commits (fsync, synchronous_commit on), as in production; tests can turn them off. */
  durable?: boolean;
}

/** A fresh PostgreSQL cluster on a free loopback port; `url` names its database `chat`. */
export async function startPostgres(options: PostgresOptions = {}): Promise<Engine> {
  const bin = postgresBin();
  if (bin === null) throw new Error(engineProblem() ?? "PostgreSQL not installed");
  const dir = await Deno.makeTempDir({ prefix: "chat-pg-" });
  if (isRoot()) {
    const { uid, gid } = postgresUser();
    await Deno.chown(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = freePort();
  await runAsPostgres(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "chat",
    "-A",
    "trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  const durable = options.durable ?? false;
  const settings = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c max_connections=200",
    `-c fsync=${durable ? "on" : "off"}`,
    `-c synchronous_commit=${durable ? "on" : "off"}`,
  ].join(" ");
  await runAsPostgres(join(bin, "pg_ctl"), [
    "-D",
    data,
    "-o",
    settings,
    "-l",
    join(dir, "log"),
    "-w",
    "-t",
    String(START_TIMEOUT_MS / 1000),
    "start",
  ]);
  const pid = Number((await Deno.readTextFile(join(data, "postmaster.pid"))).split("\n")[0]);
  const stop = async () => {
    await runAsPostgres(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"])
      .catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await runAsPostgres(join(bin, "createdb"), [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "chat",
      "chat",
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://chat@127.0.0.1:${port}/chat`, pid, stop };
}

function postgresUser(): { uid: number; gid: number } {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (line === undefined) {
    throw new Error("no postgres user (is the postgresql package installed?)");
  }
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** A nats-server on a free loopback port (or `port`: a restart where it was). */
export async function startNats(port = freePort()): Promise<Engine> {
  if (!exists(NATS_SERVER)) throw new Error(engineProblem() ?? "nats-server not installed");
  const child = new Deno.Command(NATS_SERVER, {
    args: ["-a", "127.0.0.1", "-p", String(port)],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
  const log: string[] = [];
  let announce: (ready: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => announce = resolve);
  // Read its log to the end, so the pipe never fills; the first part says when it is ready.
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      if (log.length < 100) log.push(decoder.decode(chunk));
      if (log.join("").includes("Server is ready")) announce(true);
    }
    announce(false);
  })().catch(() => announce(false));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
  });
  const started = await Promise.race([ready, timeout]);
  clearTimeout(timer);
  if (!started) {
    await stop();
    throw new Error(`nats-server did not start: ${log.join("")}`);
  }
  return { url: `nats://127.0.0.1:${port}`, pid: child.pid, stop };
}
