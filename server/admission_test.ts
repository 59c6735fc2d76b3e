/**
 * The rate limits on their own, with the clock passed in: no sleeping, no
 * timing assertion. The black-box limits tests show the server applies them.
 */

import assert from "node:assert/strict";
import { Admission } from "./admission.ts";
import { DEFAULT_LIMITS, TokenBucket } from "./limits.ts";

Deno.test("TokenBucket gives a burst at once, then one unit per 1/rate, and says how long to wait", () => {
  const bucket = new TokenBucket(2 / 1000, 3, 0); // 2 per second, bursts of 3
  assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
  assert.equal(bucket.take(0), 500, "the fourth waits half a second");
  assert.ok(bucket.take(490) > 0, "not yet");
  assert.equal(bucket.take(500), 0, "one unit came back");
  assert.equal(bucket.take(500), 500);
  // Idle time refills up to the burst, no further.
  assert.deepEqual([0, 0, 0, 500].map(() => bucket.take(60_000)), [0, 0, 0, 500]);
});

Deno.test("Admission.failedAttempt() allows the budget per minute, per address and per name", () => {
  const admission = new Admission({ ...DEFAULT_LIMITS, loginAttemptsPerMinute: 3 });
  const tries = (ip: string, name: string, now: number) =>
    Array.from({ length: 4 }, () => admission.failedAttempt(ip, name, now));
  assert.deepEqual(tries("192.0.2.1", "a", 0), [true, true, true, false]);
  assert.deepEqual(
    tries("192.0.2.2", "b", 0),
    [true, true, true, false],
    "another address, its own",
  );
  assert.equal(admission.failedAttempt("192.0.2.1", "c", 19_999), false, "the address is spent");
  assert.equal(admission.failedAttempt("192.0.2.1", "c", 20_000), true, "one back after 20 s");
  // Failures for one name from many addresses spend the name's budget, not theirs.
  assert.deepEqual(
    ["192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"].map((ip) =>
      admission.failedAttempt(ip, "alice", 0)
    ),
    [true, true, true, false],
  );
  assert.equal(admission.failedAttempt("192.0.2.7", "bob", 0), true, "another name, its own");
});

Deno.test("Admission.admit() refuses past the per-address and anonymous limits, and counts down", () => {
  const admission = new Admission({
    ...DEFAULT_LIMITS,
    maxConnectionsPerAddress: 2,
    maxAnonymous: 3,
  });
  assert.equal(admission.admit("192.0.2.1"), null);
  assert.equal(admission.admit("192.0.2.1"), null);
  assert.equal(admission.admit("192.0.2.1"), "too many connections from this address");
  assert.equal(admission.admit("192.0.2.2"), null);
  assert.equal(admission.admit("192.0.2.3"), "too many connections not logged in");
  admission.loggedIn();
  assert.equal(admission.admit("192.0.2.3"), null, "a login frees an anonymous slot");
  assert.equal(admission.admit("192.0.2.4"), "too many connections not logged in");
  admission.release("192.0.2.1", false);
  assert.equal(
    admission.admit("192.0.2.1"),
    null,
    "closing frees the address's and the anonymous count",
  );
});
