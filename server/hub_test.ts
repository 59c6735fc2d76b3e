import assert from "node:assert/strict";
import type { Store } from "../db/store.ts";
import type { Bus, BusEvent } from "./bus/bus.ts";
import { Delivery } from "./delivery.ts";
import { Hub, type Member } from "./hub.ts";

function member(name: string): Member & { lines: string[] } {
  const lines: string[] = [];
  const sendLine = (line: string) => void lines.push(line);
  return { name, lines, sendLine, sendMessage: (_id, line) => sendLine(line) };
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
  assert.equal(hub.leave(sam), true);
  assert.equal(hub.leave(sam), false);
});

Deno.test("presence goes out on the bus, and every node's hub tells its own users", () => {
  // Two nodes on one shared bus: what node A announces, node B's users hear.
  const hubs = [new Hub(), new Hub()];
  const events: BusEvent[] = [];
  const deliveries = hubs.map((hub) => new Delivery(null as unknown as Store, hub, 0));
  const bus: Bus = {
    publish: (event) => {
      events.push(event);
      for (const delivery of deliveries) delivery.event(event);
    },
    close: () => Promise.resolve(),
  };
  for (const delivery of deliveries) delivery.useBus(bus);
  const [erik, eve] = [member("erik"), member("eve")];
  hubs[0].join(erik);
  hubs[1].join(eve);
  deliveries[0].announce("sam", "joined");
  assert.deepEqual(events, [{ type: "presence", name: "sam", event: "joined" }]);
  assert.equal(erik.lines.length, 1);
  assert.deepEqual(eve.lines, ['{"type":"presence","name":"sam","event":"joined"}\n']);
});
