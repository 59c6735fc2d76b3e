/**
 * Drops, at start-up, every permission a subcommand does not need. The
 * deno.json tasks already grant each command only its own files; a compiled
 * binary (`deno task compile`) can carry only one set of flags, the union of
 * all commands', so each command narrows it here to its own (SPEC section 1).
 * Deno can revoke a path only when it was granted by path, which is how the
 * tasks and the compile task grant them; with `-A` only whole kinds go.
 */

const DATABASE = ["chat.db", "chat.db-wal", "chat.db-shm", "chat.db-journal"];

/**
 * The environment the server may read (deno.json's server and compile tasks
 * grant exactly these): where its engines are (SPEC section 7), and what the
 * PostgreSQL client (npm postgres 3.4.9) reads for what a URL leaves out.
 */
export const SERVER_ENV = [
  "CHAT_DATABASE",
  "CHAT_BUS",
  "PGHOST",
  "PGPORT",
  "PGUSER",
  "PGUSERNAME",
  "PGPASSWORD",
  "PGDATABASE",
  "PGAPPNAME",
  "PGTARGETSESSIONATTRS",
  "USER",
  "USERNAME",
  "LOGNAME",
];
const NEVER: Deno.PermissionName[] = ["ffi", "sys"];

interface Narrowing {
  read: string[];
  write: string[];
  drop: Deno.PermissionName[];
}

const NARROWINGS: Record<string, Narrowing> = {
  "ca init": { read: DATABASE, write: DATABASE, drop: ["net", "run", "env"] },
  "ca sign": {
    read: ["serverkeys", "clientkeys", ...DATABASE],
    write: ["ttpkeys", "serverkeys", "clientkeys", ...DATABASE],
    drop: ["net", "run", "env"],
  },
  // Writes only serverkeys/crl.pem; reads ttpkeys/ (the CA) and the certificate to revoke.
  "ca revoke": {
    read: DATABASE,
    write: ["ttpkeys", "clientkeys", ...DATABASE],
    drop: ["net", "run", "env"],
  },
  // env stays: only SERVER_ENV is granted, and a server on SQLite drops it
  // once it has read its options (dropEnvironment).
  server: {
    read: ["ttpkeys", "clientkeys"],
    write: ["ttpkeys", "serverkeys", "clientkeys"],
    drop: ["run"],
  },
  client: {
    read: ["ttpkeys", "serverkeys", ...DATABASE],
    write: ["ttpkeys", "serverkeys", ...DATABASE],
    drop: ["env"],
  },
};

/** Revokes what `command` (e.g. "server", "ca sign") does not need; unknown commands keep all. */
export function narrowPermissions(command: string): void {
  const narrowing = NARROWINGS[command];
  if (narrowing === undefined) return;
  for (const name of [...NEVER, ...narrowing.drop]) Deno.permissions.revokeSync({ name });
  for (const path of narrowing.read) Deno.permissions.revokeSync({ name: "read", path });
  for (const path of narrowing.write) Deno.permissions.revokeSync({ name: "write", path });
}

/**
 * Drops the network permission once the server's listening socket is bound:
 * accepting on it needs none, so from then on the server can open no other
 * socket, to any address. Deno cannot narrow a blanket --allow-net to one
 * host (a host can be revoked only when granted by name), and the address to
 * bind comes from --host at run time, so the task grants the network and the
 * server gives it up here, before it reads a byte from anyone.
 */
export function dropNetwork(): void {
  Deno.permissions.revokeSync({ name: "net" });
}

/** Drops reading the environment: a server on SQLite needs none once started. */
export function dropEnvironment(): void {
  Deno.permissions.revokeSync({ name: "env" });
}
