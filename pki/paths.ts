/**
 * Where each file lives in a data directory (SPEC section 1, the seed's
 * layout). Paths stay relative when the directory is ".", so messages show
 * "serverkeys/server.key", the way a user would type it.
 */

import { join } from "node:path";

export const TTP_DIR = "ttpkeys";
export const SERVER_DIR = "serverkeys";
export const CLIENT_DIR = "clientkeys";
/** The files SQLite keeps beside a database (write-ahead log, shared memory, rollback journal). */
export const DATABASE_SIDE_FILES = ["-wal", "-shm", "-journal"] as const;

export interface DataPaths {
  dir: string;
  ttpDir: string;
  caKey: string;
  caCertificate: string;
  serverDir: string;
  serverKey: string;
  serverCertificate: string;
  serverCaCertificate: string;
  /** The TTP's certificate revocation list, read by the server (pki/revocation.ts). */
  serverCrl: string;
  clientDir: string;
  clientCaCertificate: string;
  database: string;
}

export function dataPaths(dir = "."): DataPaths {
  return {
    dir,
    ttpDir: join(dir, TTP_DIR),
    caKey: join(dir, TTP_DIR, "ca.key"),
    caCertificate: join(dir, TTP_DIR, "ca.crt"),
    serverDir: join(dir, SERVER_DIR),
    serverKey: join(dir, SERVER_DIR, "server.key"),
    serverCertificate: join(dir, SERVER_DIR, "server.crt"),
    serverCaCertificate: join(dir, SERVER_DIR, "ca.crt"),
    serverCrl: join(dir, SERVER_DIR, "crl.pem"),
    clientDir: join(dir, CLIENT_DIR),
    clientCaCertificate: join(dir, CLIENT_DIR, "ca.crt"),
    database: join(dir, "chat.db"),
  };
}
