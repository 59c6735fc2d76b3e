/**
 * Presence (SPEC section 2): every logged-in user sees `* NAME joined` when
 * another user logs in and `* NAME left` when one logs out or drops, in pipe
 * mode too; the lines come from the server, are never shown to the user they
 * are about, and never come back as history.
 */

import assert from "node:assert/strict";
import {
  chatSession,
  ClientProcess,
  makeDataDir,
  ServerProcess,
  withoutTimes,
} from "../testing/chat.ts";

/** Registration starts the TTP as a process: on a loaded machine that takes a while. */
const SLOW_MS = 90_000;

async function ask(client: ClientProcess, line: string, match: string | RegExp): Promise<void> {
  const from = client.output.lines.length;
  await client.send(line);
  await client.output.waitFor(match, from, SLOW_MS);
}

Deno.test("users see others join, leave with /exit, and drop; never themselves", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const [erik, sam, eve] = [0, 1, 2].map(() => new ClientProcess(dir, server.port));
  try {
    await ask(erik, "/register erik", "Registration Succeeded");
    await ask(sam, "/register sam", "Registration Succeeded");
    await erik.output.waitFor("* sam joined", 0, SLOW_MS);
    await ask(eve, "/register eve", "Registration Succeeded");
    await erik.output.waitFor("* eve joined", 0, SLOW_MS);
    await sam.output.waitFor("* eve joined", 0, SLOW_MS);

    // A second session of sam is refused: nobody is told sam joined or left.
    const again = await chatSession(dir, server.port, ["/login sam"]);
    assert.deepEqual(withoutTimes(again.stdout), ["error: user is already logged in"]);

    await sam.send("/exit");
    assert.equal((await sam.exited()).code, 0);
    await erik.output.waitFor("* sam left", 0, SLOW_MS);
    await eve.output.waitFor("* sam left", 0, SLOW_MS);

    eve.kill(); // a dropped connection is a user who left
    await erik.output.waitFor("* eve left", 0, SLOW_MS);

    const erikOut = await erik.end();
    assert.equal(erikOut.code, 0);
    assert.equal(erikOut.stderr, "");
    assert.deepEqual(erikOut.stdout.split("\n").filter((line) => line.startsWith("* ")), [
      "* sam joined",
      "* eve joined",
      "* sam left",
      "* eve left",
    ]);
    assert.ok(!/^\* sam /m.test(sam.output.text()), "sam is not told about sam");
    assert.ok(!/^\* eve /m.test(eve.output.text()), "eve is not told about eve");

    // Presence is not history: a later login shows messages only.
    const later = await chatSession(dir, server.port, ["/login erik"]);
    assert.deepEqual(withoutTimes(later.stdout), ["Authentication Succeeded"]);
  } finally {
    for (const client of [erik, sam, eve]) client.kill();
    await server.stop();
  }
});

Deno.test("presence lines come after a login's history, never inside it", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const erik = new ClientProcess(dir, server.port);
  try {
    const lines = ["/register sam", ...Array.from({ length: 300 }, (_, i) => `line ${i}`)];
    await chatSession(dir, server.port, lines);
    await ask(erik, "/register erik", "Registration Succeeded");
    const sam = new ClientProcess(dir, server.port);
    try {
      await sam.send("/login sam");
      await erik.output.waitFor("* sam joined", 0, SLOW_MS);
      await sam.output.waitFor(/ sam: line 299$/, 0, SLOW_MS);
      await erik.send("/exit");
      await sam.output.waitFor("* erik left", 0, SLOW_MS);
      const out = await sam.end();
      assert.equal(out.stderr, "");
      // The notice comes after the history, never inside it.
      const shown = withoutTimes(out.stdout);
      assert.ok(shown.indexOf("* erik left") > shown.indexOf("sam: line 299"));
    } finally {
      sam.kill();
    }
  } finally {
    erik.kill();
    await server.stop();
  }
});
