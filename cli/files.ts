/**
 * Reading and writing the few files chat owns, with the CLI's error voice.
 * Secrets are created with mode 0600 and `createNew`, so an existing key is
 * never overwritten, even in a race.
 */

import { CliError, describeFileError } from "./errors.ts";

export async function readTextFile(path: string, hint?: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new CliError(describeFileError("read", path, error), hint, { cause: error });
  }
}

/** Writes a new file; fails if it exists. `secret` files get mode 0600. */
export async function writeNewFile(
  path: string,
  data: string,
  options: { secret?: boolean } = {},
): Promise<void> {
  try {
    await Deno.writeTextFile(path, data, {
      createNew: true,
      mode: options.secret ? 0o600 : 0o644,
    });
  } catch (error) {
    throw new CliError(describeFileError("write", path, error), undefined, { cause: error });
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new CliError(describeFileError("read", path, error), undefined, { cause: error });
  }
}

export async function makeDirectory(path: string, mode = 0o755): Promise<void> {
  try {
    await Deno.mkdir(path, { recursive: true, mode });
  } catch (error) {
    throw new CliError(describeFileError("create", path, error), undefined, { cause: error });
  }
}
