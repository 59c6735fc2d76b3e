/**
 * The client's command grammar (SPEC section 2): one input line in, one
 * command or one error reply out. Pure: no state, no I/O.
 */

import { MAX_MESSAGE_CHARS } from "../protocol/limits.ts";
import { messageLength } from "../protocol/frames.ts";
import { isValidName } from "../protocol/names.ts";

export type Command =
  | { kind: "register"; name: string; password?: string }
  | { kind: "login"; name: string; password?: string }
  | { kind: "users" }
  | { kind: "exit" }
  | { kind: "help" }
  | { kind: "fingerprint"; name?: string }
  | { kind: "trust"; name: string }
  | { kind: "public"; text: string }
  | { kind: "private"; to: string; text: string }
  | { kind: "empty" };

export type ParseResult = Command | { kind: "error"; reply: string };

export const INVALID_FORMAT = "error: invalid command format";
export const MESSAGE_TOO_LONG = `error: message too long (at most ${MAX_MESSAGE_CHARS} characters)`;

/** WHITESPACE is one or more spaces or tabs. */
const WHITESPACE = /[ \t]+/;

export function parseLine(input: string): ParseResult {
  const line = input.replace(/^[ \t]+|[ \t]+$/g, "");
  if (line === "") return { kind: "empty" };
  if (line.startsWith("/")) return parseSlashCommand(line);
  if (line.startsWith("@")) return parsePrivate(line);
  return withText({ kind: "public" as const, text: line });
}

function parseSlashCommand(line: string): ParseResult {
  const [command, ...args] = line.split(WHITESPACE);
  switch (command) {
    case "/register":
    case "/login": {
      if (args.length < 1 || args.length > 2 || !isValidName(args[0])) {
        return { kind: "error", reply: INVALID_FORMAT };
      }
      const kind = command === "/register" ? "register" : "login";
      return args.length === 2
        ? { kind, name: args[0], password: args[1] }
        : { kind, name: args[0] };
    }
    case "/fingerprint":
      if (args.length > 1 || (args.length === 1 && !isValidName(args[0]))) {
        return { kind: "error", reply: INVALID_FORMAT };
      }
      return args.length === 1 ? { kind: "fingerprint", name: args[0] } : { kind: "fingerprint" };
    case "/trust":
      if (args.length !== 1 || !isValidName(args[0])) {
        return { kind: "error", reply: INVALID_FORMAT };
      }
      return { kind: "trust", name: args[0] };
    case "/users":
    case "/exit":
    case "/help":
      if (args.length !== 0) return { kind: "error", reply: INVALID_FORMAT };
      return { kind: command.slice(1) as "users" | "exit" | "help" };
    default:
      return { kind: "error", reply: `error: unknown command ${command}` };
  }
}

function parsePrivate(line: string): ParseResult {
  const match = /^@([^ \t]*)[ \t]+(.*)$/s.exec(line);
  if (match === null || !isValidName(match[1])) {
    return { kind: "error", reply: INVALID_FORMAT };
  }
  return withText({ kind: "private" as const, to: match[1], text: match[2] });
}

function withText<T extends { text: string }>(command: T): T | { kind: "error"; reply: string } {
  return messageLength(command.text) > MAX_MESSAGE_CHARS
    ? { kind: "error", reply: MESSAGE_TOO_LONG }
    : command;
}
