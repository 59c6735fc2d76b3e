/**
 * `chat server`: serves chat over TLS with client certificates, state in
 * chat.db (SPEC section 3). Prints `listening on HOST:PORT` when ready, one
 * log line per event, and stops cleanly on SIGINT or SIGTERM.
 */

import { parseArgs, parsePort } from "../cli/args.ts";
import { CliError, UsageError } from "../cli/errors.ts";
import { isSymlink, readTextFile } from "../cli/files.ts";
import { dropNetwork } from "../cli/permissions.ts";
import { ChatStore } from "../db/store.ts";
import { dataPaths } from "../pki/paths.ts";
import { x509 } from "../pki/x509.ts";
import { DEFAULT_HOST, DEFAULT_PORT } from "../protocol/defaults.ts";
import { Admission } from "./admission.ts";
import { CertificateCache } from "./certificate_cache.ts";
import { Committer } from "./committer.ts";
import { Hub } from "./hub.ts";
import { DEFAULT_LIMITS, LIMIT_FLAGS, type ServerLimits } from "./limits.ts";
import {
  createListener,
  describeListenError,
  formatAddress,
  listen,
  type SocketConnection,
} from "./listener.ts";
import { EventLog, flushLog } from "./log.ts";
import { type ServerContext, Session } from "./session.ts";

export const HELP = `chat server: the chat server (TLS with client certificates, state in chat.db)

Usage:
  chat server [PORT] [--host HOST] [--dir DIR]

Options:
  -p, --port PORT   port to listen on; 0 picks a free one (default ${DEFAULT_PORT})
  --host HOST       address to bind (default ${DEFAULT_HOST}; 0.0.0.0: all);
                    once bound, the server gives up its network permission
  --dir DIR         data directory holding serverkeys/ and chat.db (default .)
  -h, --help        show this help

Limits (each: a clear reply or a closed connection and a log line):
${limitsHelp()}

Reads serverkeys/server.key, server.crt and ca.crt (made by "chat ca init"),
keeps users and messages in chat.db, prints "listening on HOST:PORT" when
ready and one line per connection, login, logout and refusal. Stops on
SIGINT or SIGTERM.

Example:
  $ chat ca init
  $ chat server 0
  listening on 127.0.0.1:41234
`;

function limitsHelp(): string {
  return Object.entries(LIMIT_FLAGS).map(([flag, { key, scale, help }]) => {
    const value = DEFAULT_LIMITS[key] / scale;
    return `  --${flag} N`.padEnd(22) + `${help} (default ${value})`;
  }).join("\n");
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    port: { type: "string", short: "p" },
    host: { type: "string" },
    dir: { type: "string" },
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
  const hint = 'run "chat ca init" first';
  const material = {
    key: await readTextFile(paths.serverKey, hint),
    certificate: await readTextFile(paths.serverCertificate, hint),
    ca: await readTextFile(paths.serverCaCertificate, hint),
  };
  let ca: x509.X509Certificate;
  try {
    ca = new x509.X509Certificate(material.ca);
  } catch (error) {
    throw new CliError(`cannot parse "${paths.serverCaCertificate}"`, undefined, {
      cause: error,
    });
  }

  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    // SQLite would follow a link and write wherever it points.
    const path = paths.database + suffix;
    if (isSymlink(path)) {
      throw new CliError(`"${path}" is a symbolic link; refusing to open it`);
    }
  }
  let store: ChatStore;
  try {
    store = ChatStore.open(paths.database);
  } catch (error) {
    throw new CliError(`cannot open "${paths.database}": ${(error as Error).message}`);
  }

  const log = new EventLog();
  let lastTime = 0;
  const context: ServerContext = {
    store,
    certificates: new CertificateCache(ca),
    committer: new Committer(store),
    hub: new Hub(),
    log,
    limits,
    admission: new Admission(limits),
    clock: () => (lastTime = Math.max(lastTime, Date.now())),
  };
  const open = new Set<SocketConnection>();
  const server = createListener(material, limits, context.admission, {
    connection(connection) {
      open.add(connection);
      log.event(`connection from ${connection.address}`);
      const session = new Session(connection, context);
      connection.start((line) => session.receive(line), () => session.settled(), (reason) => {
        open.delete(connection);
        session.end();
        log.event(`disconnected ${connection.address}: ${reason}`);
      });
    },
    log: (text) => log.event(text),
  });

  let bound;
  try {
    bound = await listen(server, host, port);
  } catch (error) {
    store.close();
    const { reason, hint } = describeListenError(error, host);
    throw new CliError(`cannot listen on ${formatAddress(host, port)}: ${reason}`, hint);
  }
  dropNetwork();
  console.log(`listening on ${formatAddress(bound.host, bound.port)}`);

  const signal = await stopSignal();
  log.event(`stopping on ${signal}`);
  server.close();
  context.committer.flush();
  for (const connection of open) connection.destroy();
  store.close();
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

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => resolve(signal));
    }
  });
}
