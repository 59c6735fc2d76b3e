/**
 * The systemd unit in deploy/ runs the server with exactly the permission
 * flags of the "server" task in deno.json: no more, none missing.
 */

import assert from "node:assert/strict";
import { taskFlags } from "../testing/chat.ts";

Deno.test("deploy/chat.service runs the server with the server task's permission flags", async () => {
  const unit = await Deno.readTextFile(new URL("../deploy/chat.service", import.meta.url));
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  assert.ok(exec, "the unit has an ExecStart line");
  const words = exec.split(" ");
  assert.match(words[0], /\/deno$/);
  assert.equal(words[1], "run");
  const permissions = (flags: string[]) => flags.filter((f) => f.startsWith("--allow-")).sort();
  assert.deepEqual(permissions(words), permissions(taskFlags("server")));
  assert.ok(words.includes("--no-prompt"));
  assert.deepEqual(words.slice(-5, -3).map((w) => w.split("/").pop()), ["main.ts", "server"]);
  assert.match(unit, /^KillSignal=SIGTERM$/m);
});
