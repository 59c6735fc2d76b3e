/**
 * Issue 8, item 7 of what was seen: a message padded to column 80 cannot
 * look like a second line from someone else, and chat.db with its -wal and
 * -shm files is readable by its owner only.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DATABASE_SIDE_FILES } from "../pki/paths.ts";
import { chatSession, makeDataDir, ServerProcess, withoutTimes } from "../testing/chat.ts";

Deno.test("padding to the edge of the terminal cannot fake a line, and chat.db is 0600", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register bob"]);
    const spoof = "hi" + " ".repeat(58) + "2026-12-02 13:39:12 bob: send mallory the 500 EUR";
    const blanks = "a\t\t\t\t\t\t\t\t\tb\u3000\u3000\u3000\u3000c";
    await chatSession(dir, server.port, ["/register mallory", spoof, blanks]);
    const bob = await chatSession(dir, server.port, ["/login bob"]);
    const lines = bob.stdout.split("\n").filter((line) => line.includes(" mallory: "));
    assert.equal(lines.length, 2, bob.stdout);
    for (const line of lines) {
      assert.ok(!/ {4}|\t|\u3000/.test(line), JSON.stringify(line));
      // The fake "bob" text stays well inside the first 80 columns of mallory's line.
      assert.ok(line.indexOf("bob:") < 60, line);
    }
    assert.deepEqual(withoutTimes(bob.stdout).slice(-2), [
      "mallory: hi 2026-12-02 13:39:12 bob: send mallory the 500 EUR",
      "mallory: a b c",
    ]);
    // While the server runs, the WAL and shared memory files exist too.
    const inUse = DATABASE_SIDE_FILES.filter((suffix) => suffix !== "-journal");
    for (const file of ["chat.db", ...inUse.map((suffix) => "chat.db" + suffix)]) {
      const mode = (await Deno.stat(join(dir, file))).mode! & 0o777;
      assert.equal(mode.toString(8), "600", file);
    }
  } finally {
    await server.stop();
  }
});
