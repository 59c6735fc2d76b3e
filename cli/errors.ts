/**
 * The errors a command reports to its user. main.ts turns them into one
 * `chat: error: ...` line (and an optional hint) on stderr and an exit code:
 * 1 for a failure, 2 for a usage error (STYLE.md, "Errors and output").
 */

export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly hint?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export class UsageError extends CliError {
  override name = "UsageError";
}

/** `cannot read "path": not found`, from a Deno file-system error. */
export function describeFileError(action: string, path: string, error: unknown): string {
  return `cannot ${action} "${path}": ${fileErrorReason(error)}`;
}

export function fileErrorReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "not found";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return "not allowed by this command's permissions";
  if (error instanceof Deno.errors.AlreadyExists) return "already exists";
  if (error instanceof Error) return error.message;
  return String(error);
}
