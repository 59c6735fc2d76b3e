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
    throw new UsageError((error as Error).message.replace(/\.$/, "").toLowerCase());
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
