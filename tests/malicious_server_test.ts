/**
 * The client against a malicious server: a test double (testing/fake_server.ts)
 * that speaks TLS with the CA's own server certificate and sends
 * oversized, malformed and escape-laden data. The client must not crash, must
 * not let a control character reach the terminal, and must say what happened.
 */

import assert from "node:assert/strict";
import type tls from "node:tls";
import { makeDataDir, runChat, withoutTimes } from "../testing/chat.ts";
import { type Script, startFakeServer } from "../testing/fake_server.ts";
import { keysReply, mintIdentity } from "../testing/identities.ts";
import { signPublicMessage } from "../e2e/envelope.ts";
import { encodeFrame } from "../protocol/frames.ts";

const send = (socket: tls.TLSSocket, text: string) => socket.write(text);
const hello = '{"type":"hello","version":2}\n';
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const MALFORMED = /^error: the server sent a malformed frame$/m;

const SCRIPTS: Record<string, [Script, RegExp]> = {
  "an oversized line": [(socket, frame) => {
    if (frame.type === "hello") send(socket, hello + "x".repeat(2 * 1024 * 1024));
  }, MALFORMED],
  "malformed JSON": [(socket, frame) => {
    if (frame.type === "hello") send(socket, hello + '{"type":"users","re":1,"names":[\n');
  }, MALFORMED],
  "an unknown error code with escapes": [(socket, frame) => {
    if (frame.type === "hello") {
      send(socket, hello + '{"type":"error","code":"\\u001b[2J\\u001b]0;pwned\\u0007"}\n');
    }
  }, MALFORMED],
};

for (const [what, [script, expected]] of Object.entries(SCRIPTS)) {
  Deno.test(`the client survives a malicious server sending ${what}`, async () => {
    const dir = await makeDataDir();
    const server = await startFakeServer(dir, script);
    try {
      const out = await runChat(
        "client",
        ["127.0.0.1", String(server.port)],
        dir,
        "/register victim\n/users\nhello\n",
      );
      assert.ok(
        !CONTROL.test(out.stdout),
        `a control character reached the terminal:\n${out.stdout}`,
      );
      assert.ok(!CONTROL.test(out.stderr), "nor stderr");
      assert.ok(!/\bat .*\.ts:\d+/.test(out.stdout + out.stderr), "no stack trace");
      assert.ok(out.code === 0 || out.code === 1, `exit code ${out.code}`);
      assert.match(out.stdout, expected);
      if (out.code === 1) {
        assert.match(out.stdout + out.stderr, /error: (disconnected|cannot connect)/);
      }
    } finally {
      server.close();
    }
  });
}

Deno.test("a verified message full of escapes reaches the terminal neutralised", async () => {
  const dir = await makeDataDir();
  // mallory is a real user of this CA, so her message verifies and is shown:
  // only the neutralisation stands between its text and the terminal.
  const mallory = await mintIdentity(dir, "mallory");
  const text = "\x1b[2J\x1b]0;pwned\x07\u202eevil\r\x1b[1A\u2028\x9b31m";
  const time = Date.now();
  const server = await startFakeServer(dir, (socket, frame) => {
    if (frame.type === "hello") send(socket, hello);
    if (frame.type === "register") {
      send(socket, JSON.stringify({ type: "ok", re: frame.id, status: "registered" }) + "\n");
      send(
        socket,
        JSON.stringify({
          type: "public",
          id: 1,
          time,
          from: "mallory",
          text,
          signature: signPublicMessage(mallory.keys, text, { time }),
        }) + "\n",
      );
      send(socket, JSON.stringify({ type: "history_end", re: frame.id }) + "\n");
    }
    if (frame.type === "keys" && frame.name === "mallory") {
      send(socket, encodeFrame(keysReply(mallory, frame.id as number)));
    }
  });
  try {
    const out = await runChat(
      "client",
      ["127.0.0.1", String(server.port)],
      dir,
      "/register victim\n/users\n",
    );
    assert.ok(
      !CONTROL.test(out.stdout),
      `a control character reached the terminal:\n${out.stdout}`,
    );
    // Each unsafe character is replaced by U+FFFD, written out here, not computed.
    assert.deepEqual(withoutTimes(out.stdout), [
      "Registration Succeeded",
      "mallory: \ufffd[2J\ufffd]0;pwned\ufffd\ufffdevil\ufffd\ufffd[1A\ufffd\ufffd31m",
    ]);
    assert.equal(out.stderr, "");
    assert.equal(out.code, 0);
  } finally {
    server.close();
  }
});
