import assert from "node:assert/strict";
import { Hub, type Member } from "./hub.ts";

function member(name: string): Member & { lines: string[] } {
  const lines: string[] = [];
  return { name, lines, sendLine: (line) => lines.push(line) };
}

Deno.test("announce() tells every other member, not the one it is about", () => {
  const hub = new Hub();
  const [erik, sam] = [member("erik"), member("sam")];
  hub.join(erik);
  hub.join(sam);
  hub.announce("sam", "joined");
  assert.deepEqual(erik.lines, ['{"type":"presence","name":"sam","event":"joined"}\n']);
  assert.deepEqual(sam.lines, []);
});

Deno.test("leave() is true only for the user's own session, so a refused one announces nothing", () => {
  const hub = new Hub();
  const sam = member("sam");
  const impostor = member("sam");
  hub.join(sam);
  assert.equal(hub.join(impostor), false);
  assert.equal(hub.leave(impostor), false);
  assert.equal(hub.isOnline("sam"), true);
  assert.equal(hub.leave(sam), true);
  assert.equal(hub.leave(sam), false);
});
