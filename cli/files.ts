/**
 * Reading and writing the few files chat owns, with the CLI's error voice.
 * Secrets are created with mode 0600 and `createNew`, so an existing key is
 * never overwritten, even in a race.
 */

import { isAbsolute, join, relative, sep as SEP } from "node:path";
import { CliError, describeFileError } from "./errors.ts";

export async function readTextFile(path: string, hint?: string): Promise<string> {
  guardKeyFolder(path);
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
  guardKeyFolder(path);
  try {
    await Deno.writeTextFile(path, data, {
      createNew: true,
      mode: options.secret ? 0o600 : 0o644,
    });
  } catch (error) {
    throw new CliError(describeFileError("write", path, error), undefined, { cause: error });
  }
}

/**
 * Replaces a public file in one step: the new content goes to a fresh file
 * beside it, renamed over the old one, so a reader sees the old or the new,
 * never half of either. Not for secrets: those are never overwritten.
 */
export async function replaceFile(path: string, data: string): Promise<void> {
  guardKeyFolder(path);
  const random = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16))
    .join("");
  const temporary = `${path}.${random}.tmp`;
  try {
    await Deno.writeTextFile(temporary, data, { createNew: true, mode: 0o644 });
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new CliError(describeFileError("write", path, error), undefined, { cause: error });
  }
}

export async function exists(path: string): Promise<boolean> {
  guardKeyFolder(path);
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new CliError(describeFileError("read", path, error), undefined, { cause: error });
  }
}

export async function makeDirectory(path: string, mode = 0o755): Promise<void> {
  guardKeyFolder(path);
  try {
    await Deno.mkdir(path, { recursive: true, mode });
  } catch (error) {
    throw new CliError(describeFileError("create", path, error), undefined, { cause: error });
  }
}

/** Whether `path` is a symbolic link (false when it does not exist). */
export function isSymlink(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSymlink;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new CliError(describeFileError("read", path, error), undefined, { cause: error });
  }
}

const KEY_FOLDERS = new Set(["ttpkeys", "serverkeys", "clientkeys"]);

/** Applies assertNoSymlinkBelow to a path inside one of the key folders. */
function guardKeyFolder(path: string): void {
  const parts = path.split(SEP);
  const at = parts.findLastIndex((part) => KEY_FOLDERS.has(part));
  if (at !== -1) assertNoSymlinkBelow(parts.slice(0, at + 1).join(SEP) || SEP, path);
}

/**
 * Refuses a path that leaves `folder` through a symbolic link. Deno's
 * permission flags check the path as written, not where its links lead, so
 * a link planted in clientkeys/ or serverkeys/ would otherwise let the
 * program read or write outside them. Checks every component below `folder`
 * that exists (the last one too: a link to a file is refused as well).
 */
export function assertNoSymlinkBelow(folder: string, path: string): void {
  const inside = relative(folder, path);
  if (inside.startsWith("..") || isAbsolute(inside)) {
    throw new CliError(`"${path}" is not inside "${folder}"`);
  }
  let current = folder;
  for (const part of inside.split(SEP).filter((p) => p !== "" && p !== ".")) {
    current = join(current, part);
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(current);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw new CliError(describeFileError("read", current, error), undefined, { cause: error });
    }
    if (info.isSymlink) {
      throw new CliError(
        `"${current}" is a symbolic link; refusing to follow it out of "${folder}"`,
      );
    }
  }
}
