/**
 * The client at a terminal (SPEC section 2): node:readline for line editing
 * and history, a prompt that shows who you are and that the link is
 * encrypted, colours unless NO_COLOR is set, incoming lines printed above
 * the line being typed, and what a chat user expects of the keys:
 *
 * - Tab completes commands and online names (client/completion.ts);
 * - Ctrl-C clears a half-typed line and quits only on an empty one; Ctrl-D
 *   on an empty line quits; the shell prompt comes back on a fresh line;
 * - passwords are asked without echo and never enter the line history
 *   (nor does the password of a typed `/login NAME PASSWORD`);
 * - a private message to you or a line naming you stands out, with a bell;
 * - a paste is inserted in one step, not key by key (client/paste.ts).
 *
 * Two of readline's internals are used, each found by name and optional:
 * inserting text (for pastes) and writing the line (muted while a password
 * is typed). Where they are missing, pastes are slower and a password
 * prompt falls back to refusing rather than echoing.
 */

import { Buffer } from "node:buffer";
import process from "node:process";
import readline from "node:readline";
import { PassThrough } from "node:stream";
import { LineBuffer, writeStdout } from "../cli/line_buffer.ts";
import { complete } from "./completion.ts";
import { pasteParts } from "./paste.ts";
import type { Mark, Ui } from "./tui.ts";

const STYLE = {
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  green: "\x1b[32m",
  magenta: "\x1b[35m",
  cyan: "\x1b[36m",
  reverse: "\x1b[7m",
  reset: "\x1b[0m",
};

/** At most one bell this often, so a burst of mentions is one ring. */
const BELL_INTERVAL_MS = 1_000;
const HISTORY_SIZE = 500;

type Internal = (this: readline.Interface, text: string) => void;

/** One of readline's internal methods, by its symbol's description. */
function internal(rl: readline.Interface, name: string): symbol | undefined {
  for (
    let proto = Object.getPrototypeOf(rl);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    const found = Object.getOwnPropertySymbols(proto).find((s) => s.description === name);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface TerminalInput extends PassThrough {
  isTTY: boolean;
  setRawMode(mode: boolean): TerminalInput;
}

export class TerminalUi implements Ui {
  readonly #rl: readline.Interface;
  readonly #colour = !Deno.noColor;
  readonly #redact: (line: string) => string;
  #user: string | null = null;
  #online: () => readonly string[] = () => [];
  #lastBell = 0;
  #closed = false;
  /** While a password is typed: nothing of the line is drawn. */
  #secret: { prompt: string; cancel: () => void } | null = null;

  constructor(redact: (line: string) => string) {
    this.#redact = redact;
    // readline reads from this stream; stdin's chunks are passed on to it,
    // except pasted text, which is inserted at once.
    const input = new PassThrough() as TerminalInput;
    input.isTTY = true;
    input.setRawMode = (mode) => {
      process.stdin.setRawMode(mode);
      return input;
    };
    this.#rl = readline.createInterface({
      input,
      output: process.stdout,
      terminal: true,
      historySize: HISTORY_SIZE,
      completer: (line: string) => complete(line, this.#online()),
    });
    this.#rl.setPrompt(this.#prompt());
    this.#muteSecrets();
    this.#readStdin(input);
    this.#rl.on("SIGINT", () => this.#interrupt());
    this.#rl.on("close", () => this.#closed = true);
    this.#rl.on("history", (history: string[]) => {
      // The newest entry is the line just typed; keep it without its password.
      if (history.length > 0) history[0] = this.#redact(history[0]);
    });
  }

  async *lines(): AsyncIterable<string> {
    this.#rl.prompt();
    for await (const line of this.#rl) {
      yield line;
      if (!this.#closed) this.#rl.prompt();
    }
  }

  readonly #output = new LineBuffer((text) => {
    // Lines go above the line being typed, which is drawn again below them.
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    writeStdout(text);
    if (!this.#closed) this.#rl.prompt(true);
  });

  print(line: string, mark?: Mark): void {
    this.#output.push(this.#style(line, mark));
    // A bell for what is addressed to you, once logged in (not for history).
    if (mark !== undefined && this.#user !== null) {
      const now = Date.now();
      if (now - this.#lastBell >= BELL_INTERVAL_MS) {
        this.#lastBell = now;
        writeStdout("\x07");
      }
    }
  }

  setUser(name: string | null): void {
    this.#user = name;
    this.#rl.setPrompt(this.#prompt());
  }

  setOnline(names: () => readonly string[]): void {
    this.#online = names;
  }

  askSecret(prompt: string): Promise<string | null> {
    if (this.#secret !== null || this.#closed) return Promise.resolve(null);
    const rl = this.#rl as readline.Interface & { historySize: number; history: string[] };
    return new Promise((resolve) => {
      const controller = new AbortController();
      const historySize = rl.historySize;
      const done = (answer: string | null) => {
        rl.historySize = historySize;
        if (answer !== null && rl.history[0] === answer) rl.history.shift();
        this.#secret = null;
        resolve(answer);
      };
      this.#secret = {
        prompt,
        cancel: () => {
          controller.abort();
          writeStdout("\r\n");
          done(null);
        },
      };
      // An answer never becomes a history entry.
      rl.historySize = 0;
      rl.question(prompt, { signal: controller.signal }, (answer) => done(answer));
    });
  }

  close(): void {
    this.#output.flush();
    if (!this.#closed) this.#rl.close();
    // The shell's prompt comes back at the start of a clean line.
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    process.stdin.pause();
  }

  /** Ctrl-C: cancel a password prompt, clear a half-typed line, or quit on an empty one. */
  #interrupt(): void {
    if (this.#secret !== null) return this.#secret.cancel();
    if (this.#rl.line !== "") {
      this.#rl.write(null, { ctrl: true, name: "e" });
      this.#rl.write(null, { ctrl: true, name: "u" });
      return;
    }
    this.#rl.close();
  }

  /** While a password is typed, readline draws the prompt only, never the text. */
  #muteSecrets(): void {
    const write = internal(this.#rl, "_writeToOutput");
    if (write === undefined) return;
    const original = (this.#rl as unknown as Record<symbol, Internal>)[write];
    // The prototype's member is an accessor: shadow it on this instance.
    Object.defineProperty(this.#rl, write, {
      value: (text: string) => {
        const secret = this.#secret;
        if (secret === null) return original.call(this.#rl, text);
        if (text.startsWith(secret.prompt)) original.call(this.#rl, secret.prompt);
        else if (text === "\r\n") original.call(this.#rl, text);
      },
    });
  }

  /** Passes stdin on to readline, inserting pasted text in one step. */
  #readStdin(input: TerminalInput): void {
    const insert = internal(this.#rl, "_insertString");
    const rl = this.#rl as unknown as Record<symbol, Internal>;
    const decoder = new TextDecoder();
    process.stdin.on("data", (chunk: Uint8Array | string) => {
      const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      const parts = insert === undefined ? null : pasteParts(text);
      if (parts === null) {
        input.emit("data", Buffer.from(text));
        return;
      }
      for (const part of parts) {
        if (part.text !== "") rl[insert!].call(this.#rl, part.text);
        if (part.key !== undefined) input.emit("data", Buffer.from(part.key));
      }
    });
    process.stdin.on("end", () => input.end());
  }

  #prompt(): string {
    // The link is TLS to a server checked against our CA; logged in, messages
    // are also end-to-end signed (public) and encrypted (private).
    const text = this.#user === null ? "[not logged in, tls] " : `[${this.#user}, tls+e2e] `;
    return this.#colour ? `${STYLE.green}${text}${STYLE.reset}` : text;
  }

  /** Colour only the parts we wrote ourselves; the text was neutralised before. */
  #style(line: string, mark?: Mark): string {
    if (!this.#colour) return line;
    if (line.startsWith("error: ")) return `${STYLE.red}${line}${STYLE.reset}`;
    if (line.startsWith("warning: ")) return `${STYLE.yellow}${line}${STYLE.reset}`;
    if (line.startsWith("hint: ")) return `${STYLE.dim}${line}${STYLE.reset}`;
    if (line.startsWith("* ")) return `${STYLE.cyan}${line}${STYLE.reset}`;
    const match = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([A-Za-z0-9_-]+):/.exec(line);
    if (match === null) return line;
    const name = mark === undefined
      ? `${STYLE.bold}${match[2]}${STYLE.reset}`
      : `${STYLE.reverse}${STYLE.bold}${match[2]}${STYLE.reset}`;
    const rest = line.slice(match[0].length);
    const text = mark === "private"
      ? `${STYLE.magenta}${rest}${STYLE.reset}`
      : mark === "mention"
      ? `${STYLE.bold}${rest}${STYLE.reset}`
      : rest;
    return `${STYLE.dim}${match[1]}${STYLE.reset} ${name}:${text}`;
  }
}
