import assert from "node:assert/strict";
import { ChildTimeoutError, runWithTimeout } from "./child.ts";

// sh starts in milliseconds even on a loaded machine, so short deadlines are safe here.
const shell = (script: string, stdin: "piped" | "null" = "null") =>
  new Deno.Command("sh", {
    args: ["-c", script],
    stdin,
    stdout: "piped",
    stderr: "piped",
  });

Deno.test("runWithTimeout() returns the exit code and both outputs of a child that ends", async () => {
  const out = await runWithTimeout(
    shell("tr a-z A-Z; echo to stderr >&2; exit 3", "piped"),
    "hello\n",
    30_000,
  );
  assert.deepEqual(out, { code: 3, stdout: "HELLO\n", stderr: "to stderr\n" });
});

Deno.test("runWithTimeout() kills a hung child and fails with what it printed", async () => {
  const hung = runWithTimeout(
    shell("echo started; echo still here >&2; exec sleep 600"),
    undefined,
    3_000,
    "the hung child",
  );
  await assert.rejects(hung, (error) => {
    assert.ok(error instanceof ChildTimeoutError);
    assert.match(error.message, /^the hung child did not exit within 3000 ms and was killed\n/);
    assert.match(error.message, /--- stdout ---\nstarted\n/);
    assert.equal(error.output.stdout, "started\n");
    assert.equal(error.output.stderr, "still here\n");
    return true;
  });
});

Deno.test("runWithTimeout() meets its deadline when the child never reads its stdin", async () => {
  const big = new Uint8Array(4 * 1024 * 1024); // more than any pipe buffer holds
  await assert.rejects(
    runWithTimeout(shell("exec sleep 600", "piped"), big, 2_000),
    ChildTimeoutError,
  );
});
