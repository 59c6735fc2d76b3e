/**
 * The operator's commands on a server's data (SPEC section 8), run beside a
 * running server: `chat server users`, `ban NAME`, `unban NAME`, `backup
 * FILE`. They open the same database through the storage interface; a ban
 * reaches every running node at its next poll (server/bans.ts).
 */

import { parseArgs } from "../cli/args.ts";
import { CliError, UsageError } from "../cli/errors.ts";
import { exists, isSymlink } from "../cli/files.ts";
import { describeDatabase, isPostgresUrl, openStore } from "../db/open.ts";
import type { Store } from "../db/store.ts";
import { dataPaths } from "../pki/paths.ts";
import { isValidName } from "../protocol/names.ts";
import { BAN_POLL_MS } from "./bans.ts";
import { x509 } from "../pki/x509.ts";

export const ADMIN_COMMANDS = ["users", "ban", "unban", "cert", "backup"] as const;
type AdminCommand = typeof ADMIN_COMMANDS[number];

const SYNOPSIS: Record<AdminCommand, string> = {
  users: "chat server users [--dir DIR | --database URL]",
  ban: "chat server ban NAME [--dir DIR | --database URL]",
  unban: "chat server unban NAME [--dir DIR | --database URL]",
  cert: "chat server cert NAME [--dir DIR | --database URL]",
  backup: "chat server backup FILE [--dir DIR]",
};

const DATABASE_OPTION = `
Options:
  --dir DIR          the server's directory, holding chat.db (default .)
  --database URL     a cluster's PostgreSQL database instead (postgres://...; also
                     CHAT_DATABASE); run it with --allow-net to that host
`;

const HELPS: Record<AdminCommand, string> = {
  users: `${SYNOPSIS.users}

Lists the registered users: when each registered, was last seen (logged in
or out; a running server writes these within a second) and whether they are
banned. Times are UTC.

${DATABASE_OPTION}
Example:
  $ chat server users
  NAME   REGISTERED           LAST SEEN            BANNED
  alice  2026-12-02 09:29:51  2026-12-02 10:02:13  -
  bob    2026-12-02 09:30:07  never                2026-12-02 10:05:00
`,
  ban: `${SYNOPSIS.ban}

Bans NAME: every running server ends NAME's session within ${BAN_POLL_MS / 1000} s and
refuses NAME's logins ("error: invalid credentials"; the log says why).
Messages stay. "chat server unban NAME" lifts it.
${DATABASE_OPTION}
Example:
  $ chat server ban bob
  banned bob
`,
  unban: `${SYNOPSIS.unban}

Lifts a ban: NAME may log in again at once.
${DATABASE_OPTION}
Example:
  $ chat server unban bob
  unbanned bob
`,
  cert: `${SYNOPSIS.cert}

Prints the certificate NAME registered with (PEM): what "chat ca revoke"
takes when the user's own copy is gone with a lost laptop.
${DATABASE_OPTION}
Example:
  $ chat server cert bob > bob.pem
  $ chat ca revoke - < bob.pem
`,
  backup: `${SYNOPSIS.backup}

Writes a consistent copy of chat.db to FILE while the server runs (SQLite's
online backup: one snapshot, what is still in chat.db-wal included). FILE must
not exist. The "server:backup" task may write only under backups/. A
cluster's PostgreSQL database is backed up with PostgreSQL's own pg_dump.

Example:
  $ chat server backup backups/chat-2026-12-02.db
  wrote backups/chat-2026-12-02.db (a consistent copy of chat.db)
`,
};

export function adminHelp(): string {
  return ADMIN_COMMANDS.map((command) => `  ${SYNOPSIS[command]}`).join("\n");
}

export function isAdminCommand(word: string | undefined): word is AdminCommand {
  return (ADMIN_COMMANDS as readonly string[]).includes(word ?? "");
}

export async function runAdmin(command: AdminCommand, args: string[]): Promise<number> {
  const takes = command === "users" ? 0 : 1;
  const { values, positionals } = parseArgs(
    args,
    { dir: { type: "string" }, ...(command === "backup" ? {} : { database: { type: "string" } }) },
    takes,
  );
  if (values.help) {
    console.log(HELPS[command]);
    return 0;
  }
  if (positionals.length < takes) {
    throw new UsageError(
      `missing ${command === "backup" ? "FILE" : "NAME"}: ${SYNOPSIS[command]}`,
    );
  }
  const url = (values as { database?: string }).database ?? envDatabase();
  const database = url ?? dataPaths(values.dir ?? ".").database;
  if (url !== undefined && !isPostgresUrl(url)) {
    throw new UsageError(`--database takes a postgres:// URL, not "${url}"`);
  }
  if (url === undefined) await checkSqliteFile(database);
  let store: Store;
  try {
    store = await openStore(database, "chat-admin");
  } catch (error) {
    throw new CliError(`cannot open ${describeDatabase(database)}: ${(error as Error).message}`);
  }
  try {
    switch (command) {
      case "users":
        return await listUsers(store);
      case "ban":
      case "unban":
        return await setBanned(store, positionals[0], command === "ban");
      case "cert":
        return await printCertificate(store, positionals[0]);
      case "backup":
        return await backup(store, positionals[0], database);
    }
  } finally {
    await store.close();
  }
}

/** CHAT_DATABASE when this process may read it and it names PostgreSQL. */
function envDatabase(): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: "CHAT_DATABASE" }).state !== "granted") {
    return undefined;
  }
  const value = Deno.env.get("CHAT_DATABASE");
  return value !== undefined && isPostgresUrl(value) ? value : undefined;
}

async function checkSqliteFile(database: string): Promise<void> {
  if (!(await exists(database))) {
    throw new CliError(`cannot open "${database}": not found`, "run it where the server runs");
  }
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    if (isSymlink(database + suffix)) {
      throw new CliError(`"${database + suffix}" is a symbolic link; refusing to open it`);
    }
  }
}

async function listUsers(store: Store): Promise<number> {
  const users = await store.listUsers();
  const rows = [["NAME", "REGISTERED", "LAST SEEN", "BANNED"]];
  for (const user of users) {
    rows.push([
      user.name,
      formatUtc(user.registeredAt),
      user.lastSeen === null ? "never" : formatUtc(user.lastSeen),
      user.bannedAt === null ? "-" : formatUtc(user.bannedAt),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) {
    console.log(
      row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  "),
    );
  }
  return 0;
}

async function setBanned(store: Store, name: string, banned: boolean): Promise<number> {
  if (!isValidName(name)) throw new UsageError(`invalid user name "${name}"`);
  if (!(await store.setBanned(name, banned ? Date.now() : null))) {
    throw new CliError(`no user "${name}"`, 'names match exactly; "chat server users" lists them');
  }
  console.log(`${banned ? "banned" : "unbanned"} ${name}`);
  return 0;
}

async function printCertificate(store: Store, name: string): Promise<number> {
  if (!isValidName(name)) throw new UsageError(`invalid user name "${name}"`);
  const keys = await store.findKeys(name);
  if (keys === null) {
    throw new CliError(`no user "${name}"`, 'names match exactly; "chat server users" lists them');
  }
  const der = keys.certificate as Uint8Array<ArrayBuffer>;
  console.log(new x509.X509Certificate(der).toString("pem"));
  return 0;
}

async function backup(store: Store, file: string, database: string): Promise<number> {
  // SQLite writes the copy itself, out of sight of Deno's file permissions:
  // ask them first, so the task's --allow-write still decides where it goes.
  const allowed = Deno.permissions.querySync({ name: "write", path: file }).state === "granted";
  if (!allowed) {
    throw new CliError(
      `cannot write "${file}": not allowed by this command's permissions`,
      'the "server:backup" task writes under backups/',
    );
  }
  if (await exists(file)) throw new CliError(`cannot write "${file}": already exists`);
  try {
    await store.backup(file);
  } catch (error) {
    throw new CliError(`cannot write "${file}": ${(error as Error).message}`);
  }
  console.log(`wrote ${file} (a consistent copy of ${database})`);
  return 0;
}

/** `YYYY-MM-DD HH:MM:SS`, UTC. */
function formatUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}
