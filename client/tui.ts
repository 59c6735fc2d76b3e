/**
 * The client's two faces (SPEC section 2). Pipe mode, when stdin or stdout is
 * not a terminal: no prompt, no colour, no echo, nothing on stderr; lines are
 * written at the end of the event-loop turn that printed them, all of that
 * turn's lines in one write (a history of 10,000 lines cost 190 ms as one
 * write each). Terminal mode: node:readline for line editing
 * and history, a prompt that shows who you are and that the link is
 * encrypted, colours unless NO_COLOR is set, and incoming lines printed above
 * the line being typed.
 */

import process from "node:process";
import readline from "node:readline";
import { LineBuffer, writeStdout } from "../cli/line_buffer.ts";

export interface Ui {
  /** Input lines, without their line ending; ends at end of input. */
  lines(): AsyncIterable<string>;
  /** Prints one output line. */
  print(line: string): void;
  /** Shows the current user in the prompt (terminal mode). */
  setUser(name: string | null): void;
  close(): void;
}

/** Longest input line read; longer lines are cut here and then refused as too long. */
const MAX_INPUT_LINE = 64 * 1024;

export function openUi(): Ui {
  const interactive = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
  return interactive ? new TerminalUi() : new PipeUi();
}

export class PipeUi implements Ui {
  readonly #output = new LineBuffer(writeStdout);

  async *lines(): AsyncIterable<string> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of Deno.stdin.readable) {
      partial += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = partial.indexOf("\n")) !== -1) {
        yield partial.slice(0, newline).replace(/\r$/, "");
        partial = partial.slice(newline + 1);
      }
      if (partial.length > MAX_INPUT_LINE) partial = partial.slice(0, MAX_INPUT_LINE + 1);
    }
    partial += decoder.decode();
    if (partial !== "") yield partial.replace(/\r$/, "");
  }

  print(line: string): void {
    this.#output.push(line);
  }

  setUser(): void {}

  close(): void {
    this.#output.flush();
  }
}

const STYLE = {
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  green: "\x1b[32m",
  reset: "\x1b[0m",
};

export class TerminalUi implements Ui {
  readonly #rl: readline.Interface;
  readonly #colour = !Deno.noColor;
  #user: string | null = null;

  constructor() {
    this.#rl = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      historySize: 500,
    });
    this.#rl.setPrompt(this.#prompt());
  }

  async *lines(): AsyncIterable<string> {
    this.#rl.prompt();
    for await (const line of this.#rl) {
      yield line;
      this.#rl.prompt();
    }
  }

  readonly #output = new LineBuffer((text) => {
    // Lines go above the line being typed, which is drawn again below them.
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    writeStdout(text);
    this.#rl.prompt(true);
  });

  print(line: string): void {
    this.#output.push(this.#style(line));
  }

  setUser(name: string | null): void {
    this.#user = name;
    this.#rl.setPrompt(this.#prompt());
  }

  close(): void {
    this.#output.flush();
    this.#rl.close();
  }

  #prompt(): string {
    // The link is TLS to a server checked against our CA; logged in, messages
    // are also end-to-end signed (public) and encrypted (private).
    const text = this.#user === null ? "[not logged in, tls] " : `[${this.#user}, tls+e2e] `;
    return this.#colour ? `${STYLE.green}${text}${STYLE.reset}` : text;
  }

  /** Colour only the parts we wrote ourselves; the text was neutralised before. */
  #style(line: string): string {
    if (!this.#colour) return line;
    if (line.startsWith("error: ")) return `${STYLE.red}${line}${STYLE.reset}`;
    if (line.startsWith("warning: ")) return `${STYLE.yellow}${line}${STYLE.reset}`;
    const match = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([A-Za-z0-9_-]+):/.exec(line);
    if (match === null) return line;
    return `${STYLE.dim}${match[1]}${STYLE.reset} ${STYLE.bold}${match[2]}${STYLE.reset}:` +
      line.slice(match[0].length);
  }
}
