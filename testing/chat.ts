/**
 * Runs the real program for black-box tests and the bench: a temporary data
 * directory, `chat ca init`, `chat server 0` (its `listening on` line read for
 * the port), and clients driven through stdin/stdout. Every process runs with
 * exactly the permission flags of its deno.json task, so a file access
 * outside what the task allows fails the test. Every wait has a deadline: a
 * hung process is killed and the test fails with what it printed.
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { exitWithin, killChild, type Output, RUN_MS, runWithTimeout } from "./child.ts";
import { LineReader } from "./line_reader.ts";

export { WAIT_MS } from "./deadline.ts";
export type { Output } from "./child.ts";
export { LineReader } from "./line_reader.ts";

const ROOT = new URL("../", import.meta.url);
export const MAIN = fromFileUrl(new URL("main.ts", ROOT));
export const CONFIG = fromFileUrl(new URL("deno.json", ROOT));

const encoder = new TextEncoder();

export type Task = "ca" | "server" | "client";

/** The `deno run` flags of a task in deno.json, with `$(deno eval ...)` resolved. */
export function taskFlags(task: Task): string[] {
  const config = JSON.parse(Deno.readTextFileSync(CONFIG));
  const command: string = config.tasks[task].command;
  const match = /^deno run (.*) main\.ts \w+$/.exec(command);
  if (match === null) throw new Error(`task ${task} is not "deno run FLAGS main.ts ${task}"`);
  // Paths in --allow-run are the project's (deno task runs in it); tests run elsewhere.
  return match[1].split(" ").map((flag) =>
    flag.startsWith("--allow-run=")
      ? "--allow-run=" + flag.slice("--allow-run=".length).split(",")
        .map((path) => path.includes("/") ? fromFileUrl(new URL(path, ROOT)) : path).join(",")
      : flag
  );
}

export function chatCommand(
  task: Task,
  args: string[],
  dir: string,
  stdin: "piped" | "null" = "null",
  env: Record<string, string> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", `--config=${CONFIG}`, ...taskFlags(task), MAIN, task, ...args],
    cwd: dir,
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  });
}

/** Runs `chat TASK ARGS` to its end; killed, and the test failed with its output, after `ms`. */
export async function runChat(
  task: Task,
  args: string[],
  dir: string,
  input?: string,
  env?: Record<string, string>,
  ms: number = RUN_MS,
): Promise<Output> {
  const command = chatCommand(task, args, dir, input === undefined ? "null" : "piped", env);
  return await runWithTimeout(command, input, ms, `chat ${task} ${args.join(" ")}`);
}

/** A fresh data directory with the CA and server keys made by `chat ca init`. */
export async function makeDataDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  const init = await runChat("ca", ["init"], dir);
  if (init.code !== 0) throw new Error(`ca init failed: ${init.stderr}`);
  return dir;
}

/** A running `chat server`, stopped with `stop()` (SIGTERM) or `kill()` (SIGKILL). */
export class ServerProcess {
  readonly port: number;
  readonly #child: Deno.ChildProcess;
  readonly log: LineReader;
  readonly errors: LineReader;

  private constructor(child: Deno.ChildProcess, log: LineReader, errors: LineReader, port: number) {
    this.#child = child;
    this.log = log;
    this.errors = errors;
    this.port = port;
  }

  /** Starts `chat server` on a free port (or `port`), with extra flags such as limits. */
  static async start(dir: string, flags: string[] = [], port = 0): Promise<ServerProcess> {
    const child = chatCommand("server", [String(port), "--host", "127.0.0.1", ...flags], dir)
      .spawn();
    const log = new LineReader(child.stdout);
    const errors = new LineReader(child.stderr);
    try {
      const line = await log.waitFor(/^listening on /);
      const bound = Number(/:(\d+)$/.exec(line)![1]);
      return new ServerProcess(child, log, errors, bound);
    } catch (error) {
      killChild(child);
      await child.status;
      throw new Error(`server did not start: ${(error as Error).message}\n${errors.text()}`);
    }
  }

  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Sends `signal` and waits for the exit. A server that outlives SIGTERM by
   * RUN_MS is killed and the test fails with its log.
   */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    killChild(this.#child, signal);
    await exitWithin(this.#child, this.log, this.errors, RUN_MS, `chat server (${signal})`);
    return await this.#child.status;
  }

  kill(): Promise<Deno.CommandStatus> {
    return this.stop("SIGKILL");
  }
}

/** A client process driven line by line, for tests that interleave clients. */
export class ClientProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly output: LineReader;
  readonly errors: LineReader;

  constructor(dir: string, port: number, env?: Record<string, string>) {
    this.#child = chatCommand("client", ["127.0.0.1", String(port)], dir, "piped", env).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.output = new LineReader(this.#child.stdout);
    this.errors = new LineReader(this.#child.stderr);
  }

  get pid(): number {
    return this.#child.pid;
  }

  async send(line: string): Promise<void> {
    await this.#writer.write(encoder.encode(line + "\n"));
  }

  /** Sends a line and waits for a matching output line after what is there now. */
  async ask(line: string, match: string | RegExp): Promise<string> {
    const from = this.output.lines.length;
    await this.send(line);
    return await this.output.waitFor(match, from);
  }

  /** Closes stdin (end of input) and waits for the exit; killed and failed after `ms`. */
  async end(ms: number = RUN_MS): Promise<Output> {
    await this.#writer.close().catch(() => {});
    return await exitWithin(this.#child, this.output, this.errors, ms, "chat client (stdin ended)");
  }

  /** Waits for the client to exit on its own, stdin left open; killed and failed after `ms`. */
  async exited(ms: number = RUN_MS): Promise<Output> {
    try {
      return await exitWithin(this.#child, this.output, this.errors, ms, "chat client");
    } finally {
      await this.#writer.close().catch(() => {});
    }
  }

  kill(): void {
    killChild(this.#child);
  }
}

/** A client run start to end on `lines`; killed, and the test failed with its output, after `ms`. */
export async function chatSession(
  dir: string,
  port: number,
  lines: string[],
  ms: number = RUN_MS,
): Promise<Output> {
  return await runChat("client", ["127.0.0.1", String(port)], dir, lines.join("\n") + "\n", {}, ms);
}

/** Output lines with the timestamp (`YYYY-MM-DD HH:MM:SS `) taken off messages. */
export function withoutTimes(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) =>
    line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, "")
  );
}

/**
 * The server ended `name`'s live session for `reason` (what its log says):
 * the client, which tries again after a lost connection, is refused with
 * the same reason and stops with `error: invalid credentials`; so is a
 * fresh login.
 */
export async function assertSessionEnded(
  server: ServerProcess,
  client: ClientProcess,
  dir: string,
  name: string,
  reason: string,
): Promise<void> {
  const escaped = reason.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  await server.log.waitFor(new RegExp(`closed connection .*: ${escaped} \\(user "${name}"\\)$`));
  await server.log.waitFor(new RegExp(`refused login of "${name}" from .*: ${escaped}$`));
  const out = await client.exited();
  if (out.code !== 1) throw new Error(`${name}'s client exited with ${out.code}:\n${out.stdout}`);
  const expected =
    "error: connection to the server lost; reconnecting\nerror: invalid credentials\n";
  if (!out.stdout.includes(expected)) {
    throw new Error(`${name}'s client did not say it was refused:\n${out.stdout}`);
  }
  const refused = await chatSession(dir, server.port, [`/login ${name}`]);
  if (refused.stdout !== "error: invalid credentials\n") {
    throw new Error(`a fresh login of ${name} was not refused:\n${refused.stdout}`);
  }
}
