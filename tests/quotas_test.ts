/**
 * What one user may store is bounded (SPEC section 3): messages a minute and
 * bytes a day, each with a clear error line, and the others go on chatting.
 */

import assert from "node:assert/strict";
import { ClientProcess, makeDataDir, ServerProcess } from "../testing/chat.ts";

Deno.test("messages beyond a user's rate or daily storage are refused with a clear error", async () => {
  const dir = await makeDataDir();
  // 3 messages a minute; 0.005 MiB (5,242 bytes) a day: two messages of 2,000 characters.
  const server = await ServerProcess.start(dir, [
    "--messages-per-minute",
    "3",
    "--stored-per-day",
    "0.005",
  ]);
  const clients: ClientProcess[] = [];
  const client = async (name: string) => {
    const c = new ClientProcess(dir, server.port);
    clients.push(c);
    await c.ask(`/register ${name}`, "Registration Succeeded");
    return c;
  };
  try {
    const chatty = await client("chatty");
    for (let i = 1; i <= 3; i++) await chatty.ask(`note ${i}`, new RegExp(`chatty: note ${i}$`));
    await chatty.ask(
      "note 4",
      "error: message not stored: more messages a minute than the server allows; wait a little",
    );
    await server.log.waitFor(/refused messages of "chatty": message rate exceeded/);

    const bulky = await client("bulky");
    const long = (c: string) => c.repeat(2000);
    await bulky.ask(long("a"), /bulky: a{2000}$/);
    await bulky.ask(long("b"), /bulky: b{2000}$/);
    await bulky.ask(
      long("c"),
      "error: message not stored: your storage on the server for today is used up",
    );
    await bulky.ask("/users", /^bulky chatty$/);

    // Nobody else is held back.
    const other = await client("other");
    await other.ask("hello", /other: hello$/);
    for (const c of clients) assert.equal((await c.end()).code, 0);
    assert.equal(
      server.log.text().match(/refused messages of "chatty"/g)?.length,
      1,
      "logged once",
    );
  } finally {
    for (const c of clients) c.kill();
    await server.stop();
  }
});
