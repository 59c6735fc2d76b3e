/**
 * Tab completion for the terminal (SPEC section 2): commands at the start of
 * a line, and the names of users online after `@` and after the commands
 * that take a user (`/msg`, `/fingerprint`, `/trust`). Pure: the caller
 * supplies who is online. The result has node:readline's completer shape:
 * the candidates and the part of the line they complete.
 */

import { COMMAND_NAMES } from "./commands.ts";

/** Commands whose first argument is the name of a user. */
const TAKES_A_NAME = new Set(["/msg", "/fingerprint", "/trust"]);

export function complete(line: string, online: readonly string[]): [string[], string] {
  const private_ = /^[ \t]*@([A-Za-z0-9_-]*)$/.exec(line);
  if (private_ !== null) {
    const word = private_[1];
    return [matching(online, word).map((name) => `@${name} `), `@${word}`];
  }
  const command = /^[ \t]*(\/[a-z]*)$/.exec(line);
  if (command !== null) {
    return [matching(COMMAND_NAMES, command[1]).map((name) => `${name} `), command[1]];
  }
  const argument = /^[ \t]*(\/[a-z]+)[ \t]+([A-Za-z0-9_-]*)$/.exec(line);
  if (argument !== null && TAKES_A_NAME.has(argument[1])) {
    return [matching(online, argument[2]).map((name) => `${name} `), argument[2]];
  }
  return [[], line];
}

/** Candidates that start with `prefix`: exact case first, then any case. */
function matching(candidates: readonly string[], prefix: string): string[] {
  const exact = candidates.filter((c) => c.startsWith(prefix));
  if (exact.length > 0) return [...exact].sort();
  const lower = prefix.toLowerCase();
  return candidates.filter((c) => c.toLowerCase().startsWith(lower)).sort();
}
