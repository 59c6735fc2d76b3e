/**
 * Argument parsing for every subcommand, over node:util parseArgs (JSR's
 * @std/cli is out of reach here, SPEC section 5). Unknown options and stray
 * arguments are usage errors, never ignored.
 */

import { parseArgs as parseNodeArgs } from "node:util";
import { UsageError } from "./errors.ts";

type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean };

export function parseArgs<T extends Record<string, OptionSpec>>(
  args: string[],
  options: T,
  maxPositionals: number,
) {
  let parsed;
  try {
    parsed = parseNodeArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(describeParseError((error as Error).message));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`);
  }
  return parsed;
}

/** A TCP port from the command line: 0 (pick a free one) to 65535. */
export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`invalid port "${text}"`);
  }
  return Number(text);
}

/**
 * node:util's messages in our voice: `unknown option "--foo"` rather than a
 * paragraph about `--` with an unclosed quote.
 */
function describeParseError(message: string): string {
  const unknown = /^Unknown option '([^']*)'/.exec(message);
  if (unknown !== null) return `unknown option "${unknown[1]}"`;
  const missing = /^Option '([^']*)' argument missing/.exec(message);
  if (missing !== null) {
    return `option "${missing[1].replace(/^-\w, /, "").replace(/ <value>$/, "")}" needs a value`;
  }
  return message.replace(/\.$/, "").toLowerCase();
}
