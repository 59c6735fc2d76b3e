/**
 * Every row of SPEC section 2's reply table, through the real client and
 * server processes, in pipe mode: exact lines, nothing on stderr, exit 0.
 */

import assert from "node:assert/strict";
import {
  chatSession,
  ClientProcess,
  makeDataDir,
  runChat,
  ServerProcess,
  withoutTimes,
} from "../testing/chat.ts";

const TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /;

Deno.test("client prints SPEC's reply for every row of the table, in input order", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    const first = await chatSession(dir, server.port, [
      "/users",
      "hello before login",
      "/register",
      "/login a b c",
      "/make",
      "/register sam",
      "/register sam",
      "/login sam",
      "/users",
      "/users x",
      "this is a message",
      "@sam hey how are you?",
      "@nobody hi",
      "  \t@sam\t  spaced   out \t ",
    ]);
    assert.equal(first.stderr, "");
    assert.equal(first.code, 0);
    assert.deepEqual(withoutTimes(first.stdout), [
      "error: command not currently available",
      "error: command not currently available",
      "error: invalid command format",
      "error: invalid command format",
      "error: unknown command /make",
      "hint: /help lists the commands",
      "Registration Succeeded",
      "error: command not currently available",
      "error: command not currently available",
      "sam",
      "error: invalid command format",
      "sam: this is a message",
      "sam: @sam hey how are you?",
      "error: user not found",
      "sam: @sam spaced   out",
    ]);
    const messages = first.stdout.split("\n").filter((line) => line.includes("sam: "));
    assert.equal(messages.length, 3);
    for (const line of messages) assert.match(line, TIMESTAMP);

    const second = await chatSession(dir, server.port, [
      "/register sam",
      "/login ghost",
      "/login sam",
    ]);
    assert.equal(second.stderr, "");
    assert.equal(second.code, 0);
    assert.deepEqual(withoutTimes(second.stdout), [
      "error: user already exists",
      "error: invalid credentials",
      "Authentication Succeeded",
      "sam: this is a message",
      "sam: @sam hey how are you?",
      "sam: @sam spaced   out",
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("a second session of a logged-in user gets 'user is already logged in'", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const online = new ClientProcess(dir, server.port);
  try {
    await online.ask("/register erik", "Registration Succeeded");
    const second = await chatSession(dir, server.port, ["/login erik", "/users"]);
    assert.deepEqual(withoutTimes(second.stdout), [
      "error: user is already logged in",
      "error: command not currently available",
    ]);
    const ended = await online.end();
    assert.equal(ended.code, 0);
    // Logged out at end of input: the name is free again.
    const third = await chatSession(dir, server.port, ["/login erik", "/users"]);
    assert.deepEqual(withoutTimes(third.stdout), ["Authentication Succeeded", "erik"]);
  } finally {
    online.kill();
    await server.stop();
  }
});

Deno.test("a message longer than the limit is refused, one at the limit is sent", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    const atLimit = "é".repeat(2000);
    const result = await chatSession(dir, server.port, [
      "/register long",
      atLimit + "x",
      atLimit,
    ]);
    assert.deepEqual(withoutTimes(result.stdout), [
      "Registration Succeeded",
      "error: message too long (at most 2000 characters)",
      `long: ${atLimit}`,
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("timestamps are shown in the client's TZ", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register tz", "what time is it"]);
    const show = async (tz: string) => {
      const out = await runChat("client", ["127.0.0.1", String(server.port)], dir, "/login tz\n", {
        TZ: tz,
      });
      const line = out.stdout.split("\n").find((l) => l.endsWith("tz: what time is it"))!;
      return Date.parse(line.slice(0, 19).replace(" ", "T") + "Z");
    };
    const utc = await show("UTC");
    const kolkata = await show("Asia/Kolkata");
    assert.equal(kolkata - utc, 5.5 * 60 * 60 * 1000);
  } finally {
    await server.stop();
  }
});

Deno.test("client without a server says so on stderr and exits 1", async () => {
  const dir = await makeDataDir();
  const out = await runChat("client", ["127.0.0.1", "1"], dir, "");
  assert.equal(out.code, 1);
  assert.match(out.stderr, /^chat: error: cannot connect to 127\.0\.0\.1:1: /);
});
