/**
 * Messages between real client processes: live delivery, private messages
 * seen by their two parties only, /users with several users, and history
 * that survives a server restart.
 */

import assert from "node:assert/strict";
import {
  chatSession,
  ClientProcess,
  makeDataDir,
  ServerProcess,
  withoutTimes,
} from "../testing/chat.ts";
import { mintIdentity } from "../testing/identities.ts";
import { RawClient } from "../testing/raw_client.ts";
import { toBase64Url } from "../protocol/base64url.ts";
import type { ServerFrame } from "../protocol/frames.ts";

/** Presence lines (`* NAME joined`) come and go with timing; the messages are what count here. */
const messagesOnly = (stdout: string) =>
  withoutTimes(stdout).filter((line) => !/^\* \S+ (joined|left)$/.test(line));

Deno.test("public messages reach every logged-in user live, private ones only their two parties", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const [erik, sam, eve] = [0, 1, 2].map(() => new ClientProcess(dir, server.port));
  // ivy watches the wire itself: a client might drop a frame not meant for it unseen.
  const ivyIdentity = await mintIdentity(dir, "ivy");
  const ivy = await RawClient.connect(
    server.port,
    await Deno.readTextFile(`${dir}/clientkeys/ca.crt`),
    ivyIdentity,
  );
  try {
    await ivy.hello();
    const registered = await ivy.request({
      type: "register",
      id: 1,
      name: "ivy",
      encryption_key: toBase64Url(ivyIdentity.keys.keys.encryption),
      binding: toBase64Url(ivyIdentity.binding),
    });
    assert.deepEqual(registered[0], { type: "ok", re: 1, status: "registered" });
    await erik.ask("/register erik", "Registration Succeeded");
    await sam.ask("/register sam", "Registration Succeeded");
    await eve.ask("/register eve", "Registration Succeeded");
    assert.match(await sam.ask("/users", /^[a-z ]+$/), /^erik eve ivy sam$/);

    await erik.ask("good morning", / erik: good morning$/);
    await sam.output.waitFor(/ erik: good morning$/);
    await eve.output.waitFor(/ erik: good morning$/);

    const evePrivateStart = eve.output.lines.length;
    await erik.ask("@sam hey how are you?", / erik: @sam hey how are you\?$/);
    await sam.output.waitFor(/ erik: @sam hey how are you\?$/);
    // eve's next line is the public message sent after the private one:
    // had the private one reached her, it would come first.
    await erik.ask("after the secret", / erik: after the secret$/);
    await eve.output.waitFor(/ erik: after the secret$/, evePrivateStart);
    // Not the text, not a warning about a message she could not open: nothing.
    assert.deepEqual(messagesOnly(eve.output.lines.slice(evePrivateStart).join("\n")), [
      "erik: after the secret",
    ]);
    // On the wire, ivy gets every public message and no private frame at all.
    const seen: ServerFrame[] = [];
    while (!seen.some((f) => f.type === "public" && f.text === "after the secret")) {
      const frame = await ivy.next();
      if (frame === null) throw new Error("the server closed ivy's connection");
      seen.push(frame);
    }
    assert.deepEqual(seen.filter((f) => f.type === "private"), []);
    assert.deepEqual(
      seen.filter((f) => f.type === "public").map((f) => f.type === "public" && f.text),
      ["good morning", "after the secret"],
    );

    for (const client of [erik, sam, eve]) {
      const out = await client.end();
      assert.equal(out.code, 0);
      assert.equal(out.stderr, "");
    }
    assert.deepEqual(messagesOnly(eve.output.text()), [
      "Registration Succeeded",
      "erik: good morning",
      "erik: after the secret",
    ]);
    // Each message was shown once to each who should see it.
    const count = (text: string, needle: string) => text.split(needle).length - 1;
    assert.equal(count(sam.output.text(), "good morning"), 1);
    assert.equal(count(sam.output.text(), "hey how are you"), 1);
    assert.equal(count(erik.output.text(), "hey how are you"), 1);
  } finally {
    for (const client of [erik, sam, eve]) client.kill();
    ivy.close();
    await server.stop();
  }
});

Deno.test("history survives a server restart, with offline private messages, oldest first", async () => {
  const dir = await makeDataDir();
  let server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    await chatSession(dir, server.port, ["/register eve"]);
    await chatSession(dir, server.port, [
      "/register erik",
      "first public",
      "@sam while you were away",
      "@eve not for sam",
      "second public",
    ]);
    await server.stop();
    server = await ServerProcess.start(dir);

    const sam = await chatSession(dir, server.port, ["/login sam"]);
    assert.deepEqual(withoutTimes(sam.stdout), [
      "Authentication Succeeded",
      "erik: first public",
      "erik: @sam while you were away",
      "erik: second public",
    ]);
    const erik = await chatSession(dir, server.port, ["/login erik"]);
    assert.deepEqual(withoutTimes(erik.stdout), [
      "Authentication Succeeded",
      "erik: first public",
      "erik: @sam while you were away",
      "erik: @eve not for sam",
      "erik: second public",
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("the server stops cleanly on SIGINT and SIGTERM", async () => {
  const dir = await makeDataDir();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const server = await ServerProcess.start(dir);
    const client = new ClientProcess(dir, server.port);
    try {
      await client.ask(`/register user_${signal}`, "Registration Succeeded");
      const status = await server.stop(signal);
      assert.equal(status.code, 0, `exit status after ${signal}`);
      assert.equal(server.errors.text(), "");
      assert.match(server.log.text(), new RegExp(`stopping on ${signal}`));
      // The client says, in SPEC's words, that the server went away, and
      // tries again by itself (tests/reconnect_test.ts follows it back).
      await client.output.waitFor("error: connection to the server lost; reconnecting");
      client.kill();
      const out = await client.exited();
      assert.equal(out.stderr, "");
    } finally {
      client.kill();
    }
  }
});
