/**
 * The composition root of a server node (STYLE.md): builds storage, bus,
 * delivery, hub and listener from a config and starts listening. The
 * `chat server` command, tests and the bench all start servers here.
 */

import type { Store } from "../db/store.ts";
import type { Roster } from "../db/store.ts";
import { describeDatabase, isPostgresUrl, openStore } from "../db/open.ts";
import { x509 } from "../pki/x509.ts";
import type { Bus } from "./bus/bus.ts";
import { LocalBus } from "./bus/local.ts";
import { NatsBus } from "./bus/nats.ts";
import { Admission } from "./admission.ts";
import { StorageQuotas } from "./quotas.ts";
import { BAN_POLL_MS, Bans } from "./bans.ts";
import { Revocations } from "./revocations.ts";
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
import { EventLog, quote } from "./log.ts";
import { type ServerContext, Session } from "./session.ts";

export interface ServerConfig {
  /** The server's key and certificate, and the CA that client certificates chain to (PEM). */
  tls: TlsMaterial;
  /** serverkeys/crl.pem's text, when the TTP revoked anything. */
  crl?: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  limits: ServerLimits;
  /** Path of the SQLite database, or a `postgres://` URL. */
  database: string;
  /** A `nats://` URL: the bus between nodes; none: in-process (one node). */
  bus?: string;
  /**
   * Share the port with other nodes on this host (SO_REUSEPORT), to use more
   * cores; needs a shared database and bus.
   */
  reusePort?: boolean;
  log?: EventLog;
}

/** What SIGHUP reads again: the server's key and certificate, and the TTP's revocation list. */
export interface Reloadable {
  key: string;
  certificate: string;
  /** serverkeys/crl.pem's text; none: nothing revoked. */
  crl?: string;
}

export interface RunningServer {
  /** Where it listens (the real port when 0 was asked). */
  address: { host: string; port: number };
  /** This process's name in the cluster. */
  node: string;
  /** Stops listening, commits what is pending, closes connections, bus and database. */
  stop(): Promise<void>;
  /**
   * Takes a new server certificate and revocation list (SIGHUP): new
   * handshakes use the certificate, sessions of revoked certificates end.
   * Throws, changing nothing, when the list does not verify.
   */
  reload(files: Reloadable): Promise<{ revoked: number; ended: number }>;
}

/** Failures opening the database or listening, with which step failed. */
export class StartError extends Error {
  override name = "StartError";
  constructor(message: string, readonly hint?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** How often a node on PostgreSQL says it is alive, and reads back anything the bus missed. */
export const CLUSTER_TICK_MS = 1_000;
/**
 * A node that could not reach the database for this long ends its sessions:
 * the other nodes will soon take it for dead (db/postgres/roster.ts) and let
 * its users log in there, and one user must not be online twice.
 */
const FENCE_MS = 3_000;

/** A name for this process, unique in the cluster: in pg_stat_activity, the roster, the bus. */
function nodeName(): string {
  const random = crypto.getRandomValues(new Uint8Array(6));
  return `chat-${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  if (config.bus !== undefined && !isPostgresUrl(config.database)) {
    throw new StartError(
      "a bus is for several nodes, which need a shared database",
      "give --database postgres://... too (an SQLite file serves one node)",
    );
  }
  if (config.reusePort && (config.bus === undefined || !isPostgresUrl(config.database))) {
    // Processes on one chat.db would each fan out only to their own users,
    // and each hold its own sessions: two servers behind one port.
    throw new StartError(
      "a shared port is for several nodes, which need a shared database and bus",
      "give --database postgres://... and --bus nats://... too (an SQLite file serves one process)",
    );
  }
  const node = nodeName();
  let ca: x509.X509Certificate;
  try {
    ca = new x509.X509Certificate(config.tls.ca);
  } catch (error) {
    throw new StartError("cannot parse the CA certificate", undefined, { cause: error });
  }
  const revocations = new Revocations();
  try {
    revocations.use(await Revocations.read(config.crl, ca));
  } catch (error) {
    throw new StartError(
      `cannot use the revocation list: ${(error as Error).message}`,
      'the TTP writes it with "chat ca revoke"; the server reads serverkeys/crl.pem',
      { cause: error },
    );
  }
  let store: Store;
  try {
    store = await openStore(config.database, node);
  } catch (error) {
    throw new StartError(
      `cannot open ${describeDatabase(config.database)}: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
  const log = config.log ?? new EventLog();
  const hub = new Hub();
  let roster: Roster;
  let delivery: Delivery;
  let bus: Bus;
  try {
    roster = await store.openRoster(node);
    delivery = new Delivery(store, hub, await store.lastMessageId());
  } catch (error) {
    await store.close();
    throw new StartError(`cannot use the database: ${(error as Error).message}`);
  }
  try {
    bus = config.bus === undefined ? new LocalBus(delivery) : await NatsBus.connect(
      config.bus,
      delivery,
      { name: node, log: (text) => log.event(text) },
    );
  } catch (error) {
    await roster.close();
    await store.close();
    throw new StartError(`cannot connect to the bus: ${(error as Error).message}`);
  }
  const committer = new Committer<Echo>(store, (stored, echoes) => {
    delivery.committed(stored, echoes);
    bus.publish({ type: "messages", messages: stored });
  }, (error, echoes) => {
    for (const echo of echoes) echo.done(error);
  });
  delivery.useCommitter(committer);
  delivery.useBus(bus);

  let lastTime = 0;
  const admission = new Admission(config.limits);
  const bans = new Bans(store);
  try {
    await bans.refresh();
  } catch (error) {
    await bus.close();
    await store.close();
    throw error;
  }
  const context: ServerContext = {
    store,
    roster,
    certificates: new CertificateCache(ca),
    committer,
    delivery,
    hub,
    log,
    limits: config.limits,
    admission,
    quotas: new StorageQuotas(config.limits),
    bans,
    revocations,
    clock: () => (lastTime = Math.max(lastTime, Date.now())),
  };
  const open = new Set<SocketConnection>();
  const sessions = new Set<Session>();
  let polling = false;
  const banPoll = setInterval(async () => {
    if (polling) return; // a slow database: one read at a time
    polling = true;
    let added: string[];
    try {
      added = await bans.refresh();
    } catch (error) {
      log.event(`cannot read the ban list: ${(error as Error).message}`);
      return;
    } finally {
      polling = false;
    }
    if (added.length === 0) return;
    for (const session of sessions) {
      if (added.includes(session.name)) session.expel("banned by the operator");
    }
  }, BAN_POLL_MS);
  const server = createListener(config.tls, config.limits, admission, {
    connection(connection) {
      open.add(connection);
      log.event(`connection from ${connection.address}`);
      const session = new Session(connection, context);
      sessions.add(session);
      connection.start((line) => session.receive(line), () => session.settled(), (reason) => {
        open.delete(connection);
        sessions.delete(session);
        session.end();
        const user = session.name === "" ? "" : ` (user ${quote(session.name)})`;
        log.event(`disconnected ${connection.address}: ${reason}${user}`);
      });
    },
    log: (text) => log.event(text),
    refusal: (ip, text) => log.refusal(ip, text),
  });

  let address;
  try {
    address = await listen(server, config.host, config.port, config.reusePort);
  } catch (error) {
    clearInterval(banPoll);
    await bus.close();
    await store.close();
    const { reason, hint } = describeListenError(error, config.host);
    throw new StartError(
      `cannot listen on ${formatAddress(config.host, config.port)}: ${reason}`,
      hint,
      { cause: error },
    );
  }

  // On PostgreSQL: stay live in the roster, and read back what the bus may
  // have lost (a publication dropped while a node was away has no later
  // one to reveal the gap).
  let tick: ReturnType<typeof setInterval> | undefined;
  if (isPostgresUrl(config.database)) {
    let lastBeat = Date.now();
    let beating = false;
    const endSessions = (why: string) => {
      if (open.size === 0) return;
      log.event(`ending ${open.size} connections: ${why}`);
      for (const connection of open) connection.destroy();
    };
    tick = setInterval(async () => {
      if (beating) return;
      beating = true;
      try {
        const alive = await roster.heartbeat();
        lastBeat = Date.now();
        if (!alive) endSessions("this node was taken for dead");
        // A crashed node said goodbye for nobody: one live node (reapDeparted
        // names each session to one caller) tells everyone its users left.
        for (const name of await roster.reapDeparted()) delivery.announce(name, "left");
        await delivery.catchUp();
      } catch (error) {
        log.event(`cannot reach the database: ${(error as Error).message}`);
        if (Date.now() - lastBeat > FENCE_MS) endSessions("lost the database");
      } finally {
        beating = false;
      }
    }, CLUSTER_TICK_MS);
  }

  let stopping: Promise<void> | null = null;
  const stop = async () => {
    clearInterval(tick);
    clearInterval(banPoll);
    server.close();
    await committer.flush();
    delivery.close();
    for (const connection of open) connection.destroy();
    await bus.close();
    await roster.close();
    await store.close();
  };
  if (isPostgresUrl(config.database)) {
    const via = config.bus === undefined ? "" : `, bus ${describeDatabase(config.bus)}`;
    const shared = config.reusePort ? `, port ${address.port} shared` : "";
    log.event(`node ${node} on ${describeDatabase(config.database)}${via}${shared}`);
  }
  const reload = async (files: Reloadable) => {
    const revoked = await Revocations.read(files.crl, ca);
    server.setSecureContext({
      key: files.key,
      cert: files.certificate,
      ca: config.tls.ca,
      minVersion: "TLSv1.3",
    });
    revocations.use(revoked);
    let ended = 0;
    for (const session of sessions) {
      const serial = session.certificateSerial;
      if (serial !== null && revocations.has(serial)) {
        session.expel("certificate revoked");
        ended++;
      }
    }
    return { revoked: revocations.size, ended };
  };
  return { address, node, stop: () => (stopping ??= stop()), reload };
}
