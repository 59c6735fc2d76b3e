/**
 * `chat server`: serves chat over TLS with client certificates, state in
 * chat.db (SPEC section 3). Prints `listening on HOST:PORT` when ready, one
 * log line per event, and stops cleanly on SIGINT or SIGTERM.
 */

import { parseArgs, parsePort } from "../cli/args.ts";
import { CliError, UsageError } from "../cli/errors.ts";
import { runHint } from "../cli/invocation.ts";
import { exists, isSymlink, readTextFile } from "../cli/files.ts";
import { dropEnvironment, dropNetwork } from "../cli/permissions.ts";
import { describeDatabase, isPostgresUrl } from "../db/open.ts";
import { DATABASE_SIDE_FILES, dataPaths } from "../pki/paths.ts";
import { DEFAULT_HOST, DEFAULT_PORT } from "../protocol/defaults.ts";
import { adminHelp, isAdminCommand, runAdmin } from "./admin.ts";
import { DEFAULT_LIMITS, LIMIT_FLAGS, type ServerLimits } from "./limits.ts";
import { formatAddress } from "./listener.ts";
import { EventLog, flushLog } from "./log.ts";
import { type RunningServer, StartError, startServer } from "./server.ts";

/** How long stopping may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

export const HELP = `chat server: the chat server (TLS with client certificates, state in chat.db)

Usage:
  chat server [PORT] [--host HOST] [--dir DIR]
  chat server [PORT] --database postgres://USER@HOST:PORT/DB --bus nats://HOST:PORT
                    [--reuse-port]
${adminHelp()}

Options:
  -p, --port PORT   port to listen on; 0 picks a free one (default ${DEFAULT_PORT})
  --host HOST       address to bind (default ${DEFAULT_HOST}; 0.0.0.0: all);
                    once bound, the server gives up its network permission
  --dir DIR         data directory holding serverkeys/ and chat.db (default .)
  --database URL    PostgreSQL instead of chat.db, shared by several nodes
                    (default: $CHAT_DATABASE, else chat.db)
  --bus URL         NATS, which tells every node what the others stored
                    (default: $CHAT_BUS, else in-process; needs --database)
  --reuse-port      share PORT with other nodes started so on this host, to
                    use more cores (the kernel spreads connections over
                    them); needs --database and --bus
  --log-format F    text (default: "TIME EVENT") or json (one object a line:
                    {"time":...,"event":...}, for log collectors)
  -h, --help        show this help

Limits (each: a clear reply or a closed connection and a log line):
${limitsHelp()}

Reads serverkeys/server.key, server.crt and ca.crt (made by "chat ca init")
and crl.pem if the TTP revoked anything ("chat ca revoke"), keeps users and
messages in chat.db, prints "listening on HOST:PORT" when ready and one line
per connection, login, logout and refusal. SIGHUP reads server.crt and
crl.pem again (sessions of revoked certificates end). Stops on SIGINT or
SIGTERM. The operator's commands (users, ban, unban, cert, backup) work on
chat.db beside a running server; each has --help.

Example:
  $ chat ca init
  $ chat server 0
  listening on 127.0.0.1:41234

Several nodes (README: "Running several nodes"), each with the same serverkeys/:
  $ chat server 4747 --database postgres://chat@db:5432/chat --bus nats://bus:4222
Two on one host and one port (start each the same way):
  $ chat server 4747 --database postgres://chat@db:5432/chat --bus nats://bus:4222 --reuse-port
`;

function limitsHelp(): string {
  const entries = Object.entries(LIMIT_FLAGS);
  // The widest flag sets the column, so a longer flag added later still lines up.
  const width = Math.max(...entries.map(([flag]) => `  --${flag} N`.length)) + 2;
  return entries.map(([flag, { key, scale, help }]) => {
    const value = DEFAULT_LIMITS[key] / scale;
    return `  --${flag} N`.padEnd(width) + `${help} (default ${value})`;
  }).join("\n");
}

export async function run(args: string[]): Promise<number> {
  if (isAdminCommand(args[0])) return await runAdmin(args[0], args.slice(1));
  const { values, positionals } = parseArgs(args, {
    port: { type: "string", short: "p" },
    host: { type: "string" },
    dir: { type: "string" },
    database: { type: "string" },
    bus: { type: "string" },
    "reuse-port": { type: "boolean" },
    "log-format": { type: "string" },
    ...Object.fromEntries(Object.keys(LIMIT_FLAGS).map((flag) => [flag, { type: "string" }])),
  }, 1);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0 && values.port !== undefined) {
    throw new UsageError("give the port once, as an argument or with --port");
  }
  const port = parsePort(positionals[0] ?? values.port ?? String(DEFAULT_PORT));
  const host = values.host ?? DEFAULT_HOST;
  const limits = parseLimits(values as Record<string, unknown>);
  const paths = dataPaths(values.dir ?? ".");
  const hint = runHint("ca init", " first");
  const material = {
    key: await readTextFile(paths.serverKey, hint),
    certificate: await readTextFile(paths.serverCertificate, hint),
    ca: await readTextFile(paths.serverCaCertificate, hint),
  };
  const database = values.database ?? environment("CHAT_DATABASE") ?? paths.database;
  const bus = values.bus ?? environment("CHAT_BUS");
  const cluster = isPostgresUrl(database);
  if (database !== paths.database && !cluster) {
    throw new UsageError(`invalid --database "${database}": expected postgres://...`);
  }
  if (bus !== undefined && !/^nats:\/\//i.test(bus)) {
    throw new UsageError(`invalid --bus ${describeDatabase(bus)}: expected nats://HOST:PORT`);
  }
  if (!cluster) {
    for (const suffix of ["", ...DATABASE_SIDE_FILES]) {
      // SQLite would follow a link and write wherever it points.
      const path = paths.database + suffix;
      if (isSymlink(path)) {
        throw new CliError(`"${path}" is a symbolic link; refusing to open it`);
      }
    }
    dropEnvironment();
  }
  const crl = await readOptional(paths.serverCrl);
  const format = values["log-format"] ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`invalid --log-format "${format}": expected text or json`);
  }
  const log = new EventLog(undefined, format);
  let server: RunningServer;
  try {
    server = await startServer({
      tls: material,
      crl,
      host,
      port,
      limits,
      database,
      bus,
      reusePort: values["reuse-port"] ?? false,
      log,
    });
  } catch (error) {
    if (error instanceof StartError) throw new CliError(error.message, error.hint);
    throw new CliError(`cannot start the server: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
  // Accepting needs no permission: from here on the server can open no other
  // socket (cli/permissions.ts). A node on PostgreSQL and NATS keeps it, to
  // reconnect to them.
  if (!cluster) dropNetwork();
  console.log(`listening on ${formatAddress(server.address.host, server.address.port)}`);

  const reloading = onHangup(async () => {
    try {
      const { revoked, ended } = await server.reload({
        key: await readTextFile(paths.serverKey),
        certificate: await readTextFile(paths.serverCertificate),
        crl: await readOptional(paths.serverCrl),
      });
      log.event(
        `reloaded on SIGHUP: ${paths.serverCertificate}, ${revoked} revoked certificates` +
          (ended > 0 ? `, ended ${ended} sessions` : ""),
      );
    } catch (error) {
      log.event(`cannot reload on SIGHUP, kept what was loaded: ${(error as Error).message}`);
    }
  });
  const signal = await stopSignal();
  reloading.stop();
  log.event(`stopping on ${signal}`);
  // Never hang on the way out: a database or bus that stopped answering
  // must not keep the process alive (what was committed is safe).
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) =>
    timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)
  );
  if (await Promise.race([server.stop().then(() => false), late])) {
    log.event(`stopped without closing everything within ${STOP_TIMEOUT_MS / 1000} s`);
  }
  clearTimeout(timer);
  log.event("stopped");
  flushLog();
  return 0;
}

/** The limits, with each flag given on the command line in its unit. */
function parseLimits(values: Record<string, unknown>): ServerLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [flag, { key, scale }] of Object.entries(LIMIT_FLAGS)) {
    const text = values[flag];
    if (text === undefined) continue;
    if (typeof text !== "string" || !/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) {
      throw new UsageError(`invalid --${flag} "${String(text)}": expected a positive number`);
    }
    limits[key] = Math.round(Number(text) * scale);
  }
  return limits;
}

/** Runs `reload` on each SIGHUP, one at a time; `stop()` stops listening. */
function onHangup(reload: () => Promise<void>): { stop(): void } {
  let running = Promise.resolve();
  const listener = () => {
    running = running.then(reload);
  };
  Deno.addSignalListener("SIGHUP", listener);
  return { stop: () => Deno.removeSignalListener("SIGHUP", listener) };
}

/** A file's text, or undefined when it does not exist. */
async function readOptional(path: string): Promise<string | undefined> {
  if (!(await exists(path))) return undefined;
  return await readTextFile(path);
}

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => resolve(signal));
    }
  });
}

/** An environment variable, or undefined when unset or not granted. */
function environment(name: string): string | undefined {
  try {
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}
