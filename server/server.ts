/**
 * The composition root of a server node (STYLE.md): builds storage, bus,
 * delivery, hub and listener from a config and starts listening. The
 * `chat server` command, tests and the bench all start servers here.
 */

import type { Store } from "../db/store.ts";
import { describeDatabase, openStore } from "../db/open.ts";
import { x509 } from "../pki/x509.ts";
import type { Bus } from "./bus/bus.ts";
import { LocalBus } from "./bus/local.ts";
import { Admission } from "./admission.ts";
import { CertificateCache } from "./certificate_cache.ts";
import { Committer } from "./committer.ts";
import { Delivery, type Echo } from "./delivery.ts";
import { Hub } from "./hub.ts";
import type { ServerLimits } from "./limits.ts";
import {
  createListener,
  describeListenError,
  formatAddress,
  listen,
  type SocketConnection,
  type TlsMaterial,
} from "./listener.ts";
import { EventLog } from "./log.ts";
import { type ServerContext, Session } from "./session.ts";

export interface ServerConfig {
  /** The server's key and certificate, and the CA that client certificates chain to (PEM). */
  tls: TlsMaterial;
  host: string;
  /** 0 picks a free port. */
  port: number;
  limits: ServerLimits;
  /** Path of the SQLite database, or a `postgres://` URL. */
  database: string;
  log?: EventLog;
}

export interface RunningServer {
  /** Where it listens (the real port when 0 was asked). */
  address: { host: string; port: number };
  /** Stops listening, commits what is pending, closes connections, bus and database. */
  stop(): Promise<void>;
}

/** Failures opening the database or listening, with which step failed. */
export class StartError extends Error {
  override name = "StartError";
  constructor(message: string, readonly hint?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  let ca: x509.X509Certificate;
  try {
    ca = new x509.X509Certificate(config.tls.ca);
  } catch (error) {
    throw new StartError("cannot parse the CA certificate", undefined, { cause: error });
  }
  let store: Store;
  try {
    store = await openStore(config.database);
  } catch (error) {
    throw new StartError(
      `cannot open ${describeDatabase(config.database)}: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
  const log = config.log ?? new EventLog();
  const hub = new Hub();
  let delivery: Delivery;
  let bus: Bus;
  try {
    delivery = new Delivery(store, hub, await store.lastMessageId());
    bus = new LocalBus(delivery);
  } catch (error) {
    await store.close();
    throw error;
  }
  const committer = new Committer<Echo>(store, (stored, echoes) => {
    delivery.committed(stored, echoes);
    bus.publish({ type: "messages", messages: stored });
  }, (error, echoes) => {
    for (const echo of echoes) echo.done(error);
  });
  delivery.useCommitter(committer);

  let lastTime = 0;
  const admission = new Admission(config.limits);
  const context: ServerContext = {
    store,
    certificates: new CertificateCache(ca),
    committer,
    delivery,
    hub,
    log,
    limits: config.limits,
    admission,
    clock: () => (lastTime = Math.max(lastTime, Date.now())),
  };
  const open = new Set<SocketConnection>();
  const server = createListener(config.tls, config.limits, admission, {
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

  let address;
  try {
    address = await listen(server, config.host, config.port);
  } catch (error) {
    await bus.close();
    await store.close();
    const { reason, hint } = describeListenError(error, config.host);
    throw new StartError(
      `cannot listen on ${formatAddress(config.host, config.port)}: ${reason}`,
      hint,
      { cause: error },
    );
  }

  let stopping: Promise<void> | null = null;
  const stop = async () => {
    server.close();
    await committer.flush();
    delivery.close();
    for (const connection of open) connection.destroy();
    await bus.close();
    await store.close();
  };
  return { address, stop: () => (stopping ??= stop()) };
}
