/**
 * Nothing acknowledged is ever lost: a server killed with SIGKILL in the
 * middle of a burst keeps every message its sender saw echoed, exactly once;
 * a client killed in the middle of a registration leaves no half-made
 * account and nothing that blocks a retry.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chatSession,
  ClientProcess,
  makeDataDir,
  ServerProcess,
  withoutTimes,
} from "../testing/chat.ts";

const CYCLES = 5;
const BURST = 400;
const FAST = ["--rate", "100000", "--burst", "100000"];

Deno.test(`kill -9 of the server mid-burst loses no echoed message (${CYCLES} cycles)`, async () => {
  const dir = await makeDataDir();
  let server = await ServerProcess.start(dir, FAST);
  await chatSession(dir, server.port, ["/register sender"]);
  await chatSession(dir, server.port, ["/register reader"]);
  const echoed = new Set<string>();
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const sender = new ClientProcess(dir, server.port);
      try {
        await sender.ask("/login sender", "Authentication Succeeded");
        const from = sender.output.lines.length;
        for (let i = 0; i < BURST; i++) await sender.send(`cycle ${cycle} message ${i}`);
        // Kill the server once part of the burst is acknowledged.
        await sender.output.waitFor(
          new RegExp(`sender: cycle ${cycle} message ${BURST / 4}$`),
          from,
        );
        await server.kill();
        const out = await sender.exited();
        for (const line of withoutTimes(out.stdout)) {
          const match = /^sender: (cycle \d+ message \d+)$/.exec(line);
          if (match && line.includes(`cycle ${cycle} `)) echoed.add(match[1]);
        }
      } finally {
        sender.kill();
      }
      server = await ServerProcess.start(dir, FAST);
    }
    const history = await chatSession(dir, server.port, ["/login reader"]);
    const stored = withoutTimes(history.stdout).filter((l) => l.startsWith("sender: "))
      .map((l) => l.slice("sender: ".length));
    assert.equal(new Set(stored).size, stored.length, "no message is stored twice");
    const missing = [...echoed].filter((text) => !stored.includes(text));
    assert.deepEqual(missing, [], "every echoed message survived");
    assert.ok(echoed.size >= CYCLES * (BURST / 4), `${echoed.size} messages echoed`);
    console.log(
      `${CYCLES} kill -9 cycles: ${echoed.size} echoed, all ${echoed.size} in the history, ` +
        `${stored.length} stored in all`,
    );
  } finally {
    await server.stop();
  }
});

Deno.test("a client killed mid-registration leaves nothing that blocks a retry", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    for (const delay of [0, 30, 60, 90, 120, 150, 200, 300]) {
      const name = `user${delay}`;
      const client = new ClientProcess(dir, server.port);
      await client.send(`/register ${name}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      client.kill();
      await client.exited();
      // Whatever state that left, the name can be had: registered now, or
      // registered then (and the keys, wherever they were left, log in).
      const retry = await chatSession(dir, server.port, [`/register ${name}`]);
      const first = withoutTimes(retry.stdout)[0];
      if (first === "error: user already exists") {
        // Until the server has seen the killed client's connection close, the
        // user is still logged in there (SPEC: "user is already logged in").
        let reply = "";
        for (let attempt = 0; attempt < 50; attempt++) {
          const login = await chatSession(dir, server.port, [`/login ${name}`]);
          reply = withoutTimes(login.stdout)[0];
          if (reply !== "error: user is already logged in") break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(reply, "Authentication Succeeded", `${name}`);
      } else {
        assert.equal(first, "Registration Succeeded", `${name}`);
      }
      const entries = [...Deno.readDirSync(join(dir, "clientkeys"))].map((e) => e.name);
      assert.ok(entries.includes(name), `${name}: keys in place`);
      assert.deepEqual(entries.filter((e) => e.startsWith(`.pending-${name}-`)), [], name);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("keys left staged after the server accepted a registration log in and move into place", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register bob", "before the crash"]);
    // The state a client killed between the server's commit and its own leaves.
    await Deno.rename(
      join(dir, "clientkeys", "bob"),
      join(dir, "clientkeys", ".pending-bob-0123456789ab"),
    );
    const again = await chatSession(dir, server.port, ["/register bob"]);
    assert.deepEqual(withoutTimes(again.stdout), ["error: user already exists"]);
    const login = await chatSession(dir, server.port, ["/login bob"]);
    assert.deepEqual(withoutTimes(login.stdout), [
      "Authentication Succeeded",
      "bob: before the crash",
    ]);
    const entries = [...Deno.readDirSync(join(dir, "clientkeys"))].map((e) => e.name).sort();
    assert.deepEqual(entries, ["bob", "ca.crt"]);
  } finally {
    await server.stop();
  }
});
