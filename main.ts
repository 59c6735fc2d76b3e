/**
 * chat: a secure chat system in one program (SPEC section 1). This file
 * dispatches subcommands and maps their errors to exit codes; it is the only
 * place that exits.
 */

import { CliError, UsageError } from "./cli/errors.ts";
import { listHint } from "./cli/invocation.ts";
import { narrowPermissions } from "./cli/permissions.ts";

export const VERSION = "0.1.0";

const HELP =
  `chat ${VERSION}: secure chat with a certificate authority, a TLS server and a terminal client

Usage:
  chat ca init [--host HOST]...   create the CA and the server's key and certificate
  chat ca sign                    sign a user's certificate request (the TTP step)
  chat ca revoke CERT.pem         revoke a certificate (writes serverkeys/crl.pem)
  chat server [PORT]              run the server
  chat server users|ban NAME|unban NAME|cert NAME|backup FILE
                                  the operator's commands on chat.db
  chat client [HOST [PORT]]       run the terminal client

Options:
  -h, --help      show help (also after any command: "chat server --help")
  -V, --version   show the version (also after any command)

Quick start, in one directory:
  $ chat ca init
  $ chat server &
  $ chat client
  /register alice
  Registration Succeeded
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  ca: async () => (await import("./pki/command.ts")).run,
  server: async () => (await import("./server/command.ts")).run,
  client: async () => (await import("./client/command.ts")).run,
};

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    console.log(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "-V" || name === "--version") {
    console.log(`chat ${VERSION}`);
    return 0;
  }
  // --version after any command or subcommand, before anything else is parsed.
  if (rest.includes("-V") || rest.includes("--version")) {
    console.log(`chat ${VERSION}`);
    return 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    return report(new UsageError(`unknown command "${name}"`, listHint()));
  }
  try {
    narrowPermissions(name === "ca" ? `ca ${rest[0]}` : name);
    return await (await load())(rest);
  } catch (error) {
    return report(error);
  }
}

function report(error: unknown): number {
  if (!(error instanceof CliError)) {
    // A bug, not a user error: say so, with the stack only on request.
    console.error(`chat: error: ${(error as Error)?.message ?? String(error)}`);
    if (debugEnabled()) console.error(error);
    return 1;
  }
  console.error(`chat: error: ${error.message}`);
  if (error.hint) console.error(`chat: hint: ${error.hint}`);
  if (error instanceof UsageError && !error.hint) {
    console.error('chat: hint: add "--help" for usage');
  }
  return error instanceof UsageError ? 2 : 1;
}

/** CHAT_DEBUG=1 shows stack traces; reading it needs no more than --allow-env=CHAT_DEBUG. */
function debugEnabled(): boolean {
  try {
    return Boolean(Deno.env.get("CHAT_DEBUG"));
  } catch {
    return false;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
