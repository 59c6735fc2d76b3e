/**
 * The client's two faces (SPEC section 2). Pipe mode, when stdin or stdout is
 * not a terminal: no prompt, no colour, no echo, nothing on stderr; lines are
 * written at the end of the event-loop turn that printed them, all of that
 * turn's lines in one write (a history of 10,000 lines cost 190 ms as one
 * write each). Terminal mode is client/terminal.ts.
 */

import { LineBuffer, writeStdout } from "../cli/line_buffer.ts";
import { TerminalUi } from "./terminal.ts";

/** Why a line deserves the user's attention: a private message to them, or their name. */
export type Mark = "private" | "mention";

export interface Ui {
  /** Input lines, without their line ending; ends at end of input. */
  lines(): AsyncIterable<string>;
  /** Prints one output line, highlighted (and a bell) at a terminal when marked. */
  print(line: string, mark?: Mark): void;
  /** Shows the current user in the prompt (terminal mode); null when logged out. */
  setUser(name: string | null): void;
  /**
   * Asks for a secret without echo, kept out of the line history. Null when
   * there is no terminal to ask at, or the user cancelled (Ctrl-C).
   */
  askSecret(prompt: string): Promise<string | null>;
  /** Where Tab completion finds the names of the users online. */
  setOnline(names: () => readonly string[]): void;
  close(): void;
}

/** Longest input line read; longer lines are cut here and then refused as too long. */
const MAX_INPUT_LINE = 64 * 1024;

/** `redact` turns an input line into what the line history may keep (no password). */
export function openUi(redact: (line: string) => string): Ui {
  const interactive = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
  return interactive ? new TerminalUi(redact) : new PipeUi();
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

  askSecret(): Promise<string | null> {
    return Promise.resolve(null);
  }

  setOnline(): void {}

  close(): void {
    this.#output.flush();
  }
}
