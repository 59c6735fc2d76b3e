/**
 * Runs the real program for black-box tests: a temporary data directory,
 * `chat ca init`, `chat server 0` (its `listening on` line read for the
 * port), and clients driven through stdin/stdout. Every process runs with
 * exactly the permission flags of its deno.json task, so a file access
 * outside what the task allows fails the test.
 */

import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = new URL("../", import.meta.url);
export const MAIN = fromFileUrl(new URL("main.ts", ROOT));
export const CONFIG = fromFileUrl(new URL("deno.json", ROOT));
/** How long a test waits for an expected event before failing. */
export const WAIT_MS = 15_000;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The `deno run` flags of a task in deno.json, with `$(deno eval ...)` resolved. */
export function taskFlags(task: "ca" | "server" | "client"): string[] {
  const config = JSON.parse(Deno.readTextFileSync(CONFIG));
  const command: string = config.tasks[task].command;
  const match = /^deno run (.*) main\.ts \w+$/.exec(command);
  if (match === null) throw new Error(`task ${task} is not "deno run FLAGS main.ts ${task}"`);
  return match[1]
    .replace(`"$(deno eval 'console.log(Deno.execPath())')"`, Deno.execPath())
    .split(" ");
}

export function chatCommand(
  task: "ca" | "server" | "client",
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

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runChat(
  task: "ca" | "server" | "client",
  args: string[],
  dir: string,
  input?: string,
  env?: Record<string, string>,
): Promise<Output> {
  const child = chatCommand(task, args, dir, input === undefined ? "null" : "piped", env)
    .spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(input));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A fresh data directory with the CA and server keys made by `chat ca init`. */
export async function makeDataDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  const init = await runChat("ca", ["init"], dir);
  if (init.code !== 0) throw new Error(`ca init failed: ${init.stderr}`);
  return dir;
}

/** Reads a child's output as lines, and waits for lines that match. */
export class LineReader {
  readonly lines: string[] = [];
  #waiters: Array<() => void> = [];
  #ended = false;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    const textDecoder = new TextDecoder();
    for await (const chunk of stream) {
      partial += textDecoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = partial.indexOf("\n")) !== -1) {
        this.lines.push(partial.slice(0, newline));
        partial = partial.slice(newline + 1);
      }
      this.#wake();
    }
    if (partial !== "") this.lines.push(partial);
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves with the first line (from `from` on) that matches; fails after WAIT_MS. */
  async waitFor(match: string | RegExp, from = 0, timeoutMs = WAIT_MS): Promise<string> {
    const test = (line: string) => typeof match === "string" ? line === match : match.test(line);
    const deadline = Date.now() + timeoutMs;
    let next = from;
    for (;;) {
      // Test each line once: outputs of 100,000 lines are waited on too.
      for (; next < this.lines.length; next++) {
        if (test(this.lines[next])) return this.lines[next];
      }
      if (this.#ended) throw new Error(`output ended without ${match}:\n${this.text()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${match}:\n${this.text()}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  text(): string {
    return this.lines.join("\n");
  }
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
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      throw new Error(`server did not start: ${(error as Error).message}\n${errors.text()}`);
    }
  }

  get pid(): number {
    return this.#child.pid;
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    const status = await this.#child.status;
    await Promise.all([this.log.done, this.errors.done]);
    return status;
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

  async send(line: string): Promise<void> {
    await this.#writer.write(encoder.encode(line + "\n"));
  }

  /** Sends a line and waits for a matching output line after what is there now. */
  async ask(line: string, match: string | RegExp): Promise<string> {
    const from = this.output.lines.length;
    await this.send(line);
    return await this.output.waitFor(match, from);
  }

  /** Closes stdin (end of input) and waits for the exit. */
  async end(): Promise<Output> {
    await this.#writer.close().catch(() => {});
    const status = await this.#child.status;
    await Promise.all([this.output.done, this.errors.done]);
    return { code: status.code, stdout: this.output.text(), stderr: this.errors.text() };
  }

  /** Waits for the client to exit on its own, stdin left open. */
  async exited(): Promise<Output> {
    const status = await this.#child.status;
    await Promise.all([this.output.done, this.errors.done]);
    await this.#writer.close().catch(() => {});
    return { code: status.code, stdout: this.output.text(), stderr: this.errors.text() };
  }

  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

/** A client run start to end on `lines`; returns its output lines. */
export async function chatSession(dir: string, port: number, lines: string[]): Promise<Output> {
  return await runChat("client", ["127.0.0.1", String(port)], dir, lines.join("\n") + "\n");
}

/** Output lines with the timestamp (`YYYY-MM-DD HH:MM:SS `) taken off messages. */
export function withoutTimes(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) =>
    line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, "")
  );
}
