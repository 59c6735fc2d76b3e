/**
 * The client against a malicious server: a test double that speaks TLS with
 * the CA's own server certificate (as a compromised server would) and sends
 * oversized, malformed and escape-laden data. The client must not crash, must
 * not let a control character reach the terminal, and must say what happened.
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import { join } from "node:path";
import { makeDataDir, runChat } from "../testing/chat.ts";

type Script = (socket: tls.TLSSocket, line: Record<string, unknown>) => void;

/** A TLS server with the real server's key that answers each frame with `script`. */
async function fakeServer(dir: string, script: Script) {
  const server = tls.createServer({
    key: await Deno.readTextFile(join(dir, "serverkeys", "server.key")),
    cert: await Deno.readTextFile(join(dir, "serverkeys", "server.crt")),
    requestCert: true,
    rejectUnauthorized: false,
  }, (socket) => {
    let buffer = "";
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          script(socket, JSON.parse(line));
        } catch {
          socket.destroy();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

const send = (socket: tls.TLSSocket, text: string) => socket.write(text);
const hello = '{"type":"hello","version":1}\n';
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

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
  "escape-laden messages and names after registration": [
    (socket, frame) => {
      if (frame.type === "hello") send(socket, hello);
      if (frame.type === "register") {
        send(socket, JSON.stringify({ type: "ok", re: frame.id, status: "registered" }) + "\n");
        // A message whose text would clear the screen and retitle the terminal.
        send(
          socket,
          JSON.stringify({
            type: "public",
            id: 1,
            time: 0,
            from: "mallory",
            text: "\x1b[2J\x1b]0;pwned\x07\u202eevil\r\x1b[1A",
            signature: "{}",
          }) + "\n",
        );
        send(socket, JSON.stringify({ type: "history_end", re: frame.id }) + "\n");
      }
      if (frame.type === "keys") {
        send(
          socket,
          JSON.stringify({ type: "error", re: frame.id, code: "user_not_found" }) + "\n",
        );
      }
      if (frame.type === "users") {
        // A user name with an escape in it.
        send(
          socket,
          JSON.stringify({ type: "users", re: frame.id, names: ["ok", "\x1b[31mred"] }) + "\n",
        );
      }
    },
    /^Registration Succeeded\nwarning: public message #1 from mallory is not shown: .*\nerror: disconnected: the server sent a malformed frame\n$/,
  ],
};

for (const [what, [script, expected]] of Object.entries(SCRIPTS)) {
  Deno.test(`the client survives a malicious server sending ${what}`, async () => {
    const dir = await makeDataDir();
    const server = await fakeServer(dir, script);
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
