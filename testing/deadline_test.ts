import assert from "node:assert/strict";
import { DeadlineError, withDeadline } from "./deadline.ts";

Deno.test("withDeadline() passes on a value that comes in time", async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 1_000, "seven"), 7);
});

Deno.test("withDeadline() passes on a rejection that comes in time", async () => {
  await assert.rejects(withDeadline(Promise.reject(new Error("boom")), 1_000), /^Error: boom$/);
});

Deno.test("withDeadline() rejects with DeadlineError naming the wait when time runs out", async () => {
  const never = new Promise<number>(() => {});
  await assert.rejects(withDeadline(never, 10, "the pong"), (error) => {
    assert.ok(error instanceof DeadlineError);
    assert.equal(error.message, "the pong: no result within 10 ms");
    return true;
  });
});

Deno.test("withDeadline() leaves no timer behind after an early result", async () => {
  // Deno's sanitizer fails this test if the 1 h timer were still pending.
  assert.equal(await withDeadline(Promise.resolve("x"), 3_600_000), "x");
});
