import assert from "node:assert/strict";
import { newClientId, Outbox, RECONNECT_MAX_MS, reconnectDelay } from "./outbox.ts";

Deno.test("reconnectDelay() starts near 1 s, doubles, stays under 30 s, with jitter", () => {
  assert.equal(reconnectDelay(0, 0.5), 1_000);
  assert.equal(reconnectDelay(1, 0.5), 2_000);
  assert.equal(reconnectDelay(4, 0.5), 16_000);
  assert.equal(reconnectDelay(5, 0.5), RECONNECT_MAX_MS);
  assert.equal(reconnectDelay(1_000, 0.5), RECONNECT_MAX_MS);
  assert.equal(reconnectDelay(0, 0), 750);
  assert.equal(reconnectDelay(0, 1), 1_250);
});

Deno.test("Outbox marks a second sending as a resend with the same cid, and forgets what was acknowledged", async () => {
  const outbox = new Outbox();
  const { cid, acknowledged } = outbox.add({ type: "public", text: "hi", signature: "s" });
  const first = outbox.frame(cid, 1) as Record<string, unknown>;
  assert.equal(first.cid, cid);
  assert.equal(first.resend, undefined);
  assert.match(cid, /^[0-9a-f]{12}[A-Za-z0-9_-]{16}$/);
  const second = outbox.frame(cid, 7) as Record<string, unknown>;
  assert.deepEqual(second, { ...first, id: 7, resend: true });
  assert.deepEqual(outbox.pending(), [cid]);
  outbox.acknowledge(cid);
  await acknowledged;
  assert.equal(outbox.frame(cid, 8), null);
  assert.equal(outbox.size, 0);
  assert.notEqual(outbox.add({ type: "public", text: "hi", signature: "s" }).cid, cid);
});

Deno.test("cids increase with time as the server compares them (bytewise), and differ within a millisecond", () => {
  const times = [0, 1, 15, 16, 1764667800000, 1764667800001, 2 ** 47];
  const cids = times.map((time) => newClientId(time));
  const bytewise = [...cids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(bytewise, cids);
  assert.notEqual(newClientId(5), newClientId(5));
  for (const cid of cids) assert.match(cid, /^[A-Za-z0-9_-]{16,64}$/, "a valid cid");
});
