import assert from "node:assert/strict";
import { ChildTimeoutError, runWithTimeout } from "./child.ts";

const evalCommand = (code: string, stdin: "piped" | "null" = "null") =>
  new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin,
    stdout: "piped",
    stderr: "piped",
  });

Deno.test("runWithTimeout() returns the exit code and both outputs of a child that ends", async () => {
  const out = await runWithTimeout(
    evalCommand(
      "const t = new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer());" +
        "console.log(t.toUpperCase()); console.error('to stderr'); Deno.exit(3);",
      "piped",
    ),
    "hello",
    30_000,
  );
  assert.deepEqual(out, { code: 3, stdout: "HELLO", stderr: "to stderr" });
});

Deno.test("runWithTimeout() kills a hung child and fails with what it printed", async () => {
  const started = Date.now();
  const hung = runWithTimeout(
    evalCommand(
      "console.log('started'); console.error('still here'); setInterval(() => {}, 1000);",
    ),
    undefined,
    // Long enough for deno to start and print under load; the test waits for it.
    6_000,
    "the hung child",
  );
  await assert.rejects(hung, (error) => {
    assert.ok(error instanceof ChildTimeoutError);
    assert.match(error.message, /^the hung child did not exit within 6000 ms and was killed/);
    assert.equal(error.output.stdout, "started");
    assert.equal(error.output.stderr, "still here");
    return true;
  });
  // Killed, not waited out: the deadline ended it (no timing assertion beyond "it ended").
  assert.ok(Date.now() - started < 60_000);
});

Deno.test("runWithTimeout() meets its deadline when the child never reads its stdin", async () => {
  const big = new Uint8Array(4 * 1024 * 1024); // more than any pipe buffer holds
  await assert.rejects(
    runWithTimeout(evalCommand("setInterval(() => {}, 1000);", "piped"), big, 3_000),
    ChildTimeoutError,
  );
});
