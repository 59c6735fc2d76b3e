/**
 * How the user runs a command, for hints that name one: a README reader runs
 * `deno task ca init` (the tasks carry each command's permissions), someone
 * with the compiled binary runs `chat ca init`. Asking Deno for its
 * executable's path needs no permission.
 */

import { basename } from "node:path";

/** True when this process is the compiled `chat`, not `deno` running main.ts. */
function isCompiled(): boolean {
  return !/^deno(\.exe)?$/.test(basename(Deno.execPath()));
}

/** `deno task -q ca init` under Deno, `chat ca init` from the binary. */
export function commandLine(command: string): string {
  return isCompiled() ? `chat ${command}` : `deno task -q ${command}`;
}

/** The list of commands: `chat --help`, or under Deno `deno task` (the tasks, described). */
export function listHint(): string {
  return isCompiled() ? 'run "chat --help" for the list' : 'run "deno task" for the list';
}

/** A hint to run a command: `run "deno task -q ca init" first`. */
export function runHint(command: string, tail = ""): string {
  return `run "${commandLine(command)}"${tail}`;
}
