/**
 * The client's command grammar (SPEC section 2): one input line in, one
 * command or one error reply out. Pure: no state, no I/O.
 *
 * Beyond the seed's grammar, IRC habits as aliases: `/msg NAME TEXT` is
 * `@NAME TEXT`, `/quit [REASON]` is `/exit`, and `/me TEXT` is a public
 * message shown as an action (`* sam waves`). A refusal may carry a hint,
 * printed on the next line (`hint: ...`): SPEC's reply line stays alone.
 */

import { MAX_MESSAGE_CHARS } from "../protocol/limits.ts";
import { messageLength } from "../protocol/frames.ts";
import { isValidName, MAX_NAME_LENGTH } from "../protocol/names.ts";

export type Command =
  | { kind: "register"; name: string; password?: string }
  | { kind: "login"; name: string; password?: string }
  | { kind: "users" }
  | { kind: "exit" }
  | { kind: "help" }
  | { kind: "fingerprint"; name?: string }
  | { kind: "trust"; name: string }
  | { kind: "history"; count?: number }
  | { kind: "public"; text: string }
  | { kind: "private"; to: string; text: string }
  | { kind: "empty" };

export type Refusal = { kind: "error"; reply: string; hint?: string };
export type ParseResult = Command | Refusal;

export const INVALID_FORMAT = "error: invalid command format";
export const MESSAGE_TOO_LONG = `error: message too long (at most ${MAX_MESSAGE_CHARS} characters)`;
export const NAME_HINT = `names are 1-${MAX_NAME_LENGTH} of A-Z a-z 0-9 _ -`;
export const HELP_HINT = "/help lists the commands";
export const HISTORY_HINT = "/history [N]: N is a number of messages, 1 to 9999999";
/** A public message's text that is an action (`/me waves`): no other text starts with "/". */
export const ACTION_PREFIX = "/me ";

/** The commands, for /help's neighbours: completion and hints. */
export const COMMAND_NAMES = [
  "/register",
  "/login",
  "/users",
  "/msg",
  "/me",
  "/fingerprint",
  "/trust",
  "/history",
  "/help",
  "/exit",
  "/quit",
] as const;

/** WHITESPACE is one or more spaces or tabs. */
const WHITESPACE = /[ \t]+/;

const invalid = (hint?: string): Refusal =>
  hint === undefined ? { kind: "error", reply: INVALID_FORMAT } : {
    kind: "error",
    reply: INVALID_FORMAT,
    hint,
  };

/** A name argument: refused with the names' rule when it breaks it. */
const badName = (name: string): Refusal | null => isValidName(name) ? null : invalid(NAME_HINT);

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
      if (args.length < 1 || args.length > 2) return invalid();
      const refused = badName(args[0]);
      if (refused) return refused;
      const kind = command === "/register" ? "register" : "login";
      return args.length === 2
        ? { kind, name: args[0], password: args[1] }
        : { kind, name: args[0] };
    }
    case "/fingerprint":
      if (args.length > 1) return invalid();
      if (args.length === 1) return badName(args[0]) ?? { kind: "fingerprint", name: args[0] };
      return { kind: "fingerprint" };
    case "/trust":
      if (args.length !== 1) return invalid();
      return badName(args[0]) ?? { kind: "trust", name: args[0] };
    case "/msg": {
      const match = /^\/msg[ \t]+([^ \t]+)[ \t]+(.+)$/s.exec(line);
      if (match === null) return invalid();
      return badName(match[1]) ??
        withText({ kind: "private" as const, to: match[1], text: match[2] });
    }
    case "/me": {
      const match = /^\/me[ \t]+(.+)$/s.exec(line);
      if (match === null) return invalid();
      return withText({ kind: "public" as const, text: ACTION_PREFIX + match[1] });
    }
    case "/quit":
      return { kind: "exit" };
    case "/history":
      if (args.length > 1) return invalid(HISTORY_HINT);
      if (args.length === 0) return { kind: "history" };
      if (!/^[1-9][0-9]{0,6}$/.test(args[0])) return invalid(HISTORY_HINT);
      return { kind: "history", count: Number(args[0]) };
    case "/users":
    case "/exit":
    case "/help":
      if (args.length !== 0) return invalid();
      return { kind: command.slice(1) as "users" | "exit" | "help" };
    default:
      return { kind: "error", reply: `error: unknown command ${command}`, hint: HELP_HINT };
  }
}

function parsePrivate(line: string): ParseResult {
  const match = /^@([^ \t]*)[ \t]+(.*)$/s.exec(line);
  if (match === null) return invalid();
  return badName(match[1]) ?? withText({ kind: "private" as const, to: match[1], text: match[2] });
}

function withText<T extends { text: string }>(command: T): T | Refusal {
  return messageLength(command.text) > MAX_MESSAGE_CHARS
    ? { kind: "error", reply: MESSAGE_TOO_LONG }
    : command;
}

/** What the line history may keep of a line: `/login NAME PASSWORD` without its password. */
export function withoutPassword(line: string): string {
  const command = parseLine(line);
  if ((command.kind === "login" || command.kind === "register") && command.password !== undefined) {
    return `/${command.kind} ${command.name}`;
  }
  return line;
}
