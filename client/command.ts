/**
 * `chat client [HOST [PORT]]`: the terminal client (SPEC section 2). Reads
 * commands from stdin, prints replies and messages on stdout; works for a
 * person at a terminal and for a program driving it through pipes.
 */

import { parseArgs, parsePort } from "../cli/args.ts";
import { CliError, describeFileError, UsageError } from "../cli/errors.ts";
import { runHint } from "../cli/invocation.ts";
import { dataPaths } from "../pki/paths.ts";
import { DEFAULT_HOST, DEFAULT_PORT } from "../protocol/defaults.ts";
import { ChatClient, CLIENT_HELP } from "./client.ts";
import { withoutPassword } from "./commands.ts";
import { HISTORY_WINDOW } from "./history.ts";
import { ConnectError } from "./connection.ts";
import { processSigner } from "./registration.ts";
import { KeyStore } from "./store.ts";
import { openUi } from "./tui.ts";

export const HELP = `chat client: the terminal client

Usage:
  chat client [HOST [PORT]] [--dir DIR] [--history N|all]

Arguments:
  HOST        server name or address (default ${DEFAULT_HOST})
  PORT        server port (default ${DEFAULT_PORT})

Options:
  --dir DIR        data directory holding clientkeys/ (default .); /register
                   runs the TTP ("chat ca sign") on DIR/ttpkeys
  --history N|all  messages a login shows, the most recent ones (default
                   ${HISTORY_WINDOW}); a line before them says how many earlier ones
                   /history shows. Messages verified before on this machine
                   come from clientkeys/NAME/history
  -h, --help       show this help

Then type:
${CLIENT_HELP.slice(1).join("\n")}

Example:
  $ chat client
  /register alice
  Registration Succeeded
  hello everyone
  2026-12-02 09:30:00 alice: hello everyone
  /users
  alice
  /exit
`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    dir: { type: "string" },
    history: { type: "string" },
  }, 2);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const historyWindow = parseHistoryWindow(values.history);
  const host = positionals[0] ?? DEFAULT_HOST;
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) throw new UsageError(`invalid host "${host}"`);
  const port = parsePort(positionals[1] ?? String(DEFAULT_PORT));
  const paths = dataPaths(values.dir);
  const store = new KeyStore(paths.clientDir);
  let caCertificate: string;
  try {
    caCertificate = await store.caCertificate();
  } catch (error) {
    throw new CliError(
      describeFileError("read", store.caCertificatePath, error),
      runHint("ca init", " first, or copy the CA certificate there"),
    );
  }
  const ui = openUi(withoutPassword);
  const client = new ChatClient({
    address: { host: host.replace(/^\[(.*)\]$/, "$1"), port },
    store,
    caCertificate,
    sign: processSigner(paths.dir),
    historyWindow,
    ui,
  });
  try {
    await client.connect();
  } catch (error) {
    ui.close();
    if (error instanceof ConnectError) {
      throw new CliError(`cannot connect to ${host}:${port}: ${error.message}`, error.hint);
    }
    throw error;
  }
  try {
    // Stop at end of input, at /exit, or as soon as the server goes away.
    const lines = ui.lines()[Symbol.asyncIterator]();
    const lost = client.disconnected.then(() => ({ done: true, value: undefined }) as const);
    for (;;) {
      const next = await Promise.race([lines.next(), lost]);
      if (next.done || !(await client.execute(next.value))) break;
    }
    await client.finish();
  } finally {
    ui.close();
  }
  return client.lost === null ? 0 : 1;
}

/** `--history N|all`: how many of the most recent messages a login shows; null: all. */
function parseHistoryWindow(text: string | undefined): number | null {
  if (text === undefined) return HISTORY_WINDOW;
  if (text === "all") return null;
  if (!/^[1-9][0-9]{0,6}$/.test(text)) {
    throw new UsageError(`invalid --history "${text}": a number of messages (1-9999999) or "all"`);
  }
  return Number(text);
}
