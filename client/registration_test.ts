import assert from "node:assert/strict";
import { processSigner, RegistrationError } from "./registration.ts";

Deno.test("a TTP that never answers ends /register with an error in bounded time, and is killed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // `sleep` stands in for a TTP stuck before it answers.
    const signer = processSigner(dir, { command: "sleep", args: ["30"], cwd: dir }, 300);
    const started = Date.now();
    await assert.rejects(
      signer("-----BEGIN CERTIFICATE REQUEST-----\n"),
      (error: unknown) =>
        error instanceof RegistrationError &&
        error.message === "the TTP did not answer within 0.3 s",
    );
    assert.ok(Date.now() - started < 10_000, "well before the stuck TTP would have exited");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a TTP that fails says why, without its error prefix", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const signer = processSigner(dir, {
      command: "sh",
      args: ["-c", 'cat >/dev/null; echo "chat: error: the request names nobody" >&2; exit 1'],
      cwd: dir,
    });
    await assert.rejects(
      signer("-----BEGIN CERTIFICATE REQUEST-----\n"),
      (error: unknown) =>
        error instanceof RegistrationError &&
        error.message === "the TTP did not sign the request: the request names nobody",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
