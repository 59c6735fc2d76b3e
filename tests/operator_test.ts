/**
 * The operator's commands (SPEC section 8) against a running server, each
 * run with exactly the flags of its deno.json task: `server:users`,
 * `server:ban` / `server:unban` (effective on the running server within
 * seconds: the live session ends, logins are refused and the log says why)
 * and `server:backup` (a consistent copy while the server runs).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  assertSessionEnded,
  chatSession,
  ClientProcess,
  CONFIG,
  MAIN,
  makeDataDir,
  type Output,
  ServerProcess,
  WAIT_MS,
} from "../testing/chat.ts";

/** Runs `deno task server:COMMAND ARGS` in `dir` with the task's own flags. */
async function operator(dir: string, command: string, ...args: string[]): Promise<Output> {
  const tasks = JSON.parse(await Deno.readTextFile(CONFIG)).tasks;
  const line: string = tasks[`server:${command}`].command;
  const match = new RegExp(`^deno run (.*) main\\.ts server ${command}$`).exec(line);
  assert.ok(match, `task server:${command} is "deno run FLAGS main.ts server ${command}"`);
  assert.ok(!/--allow-(net|run|env|all)|-A\b/.test(match[1]), `server:${command}: ${match[1]}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", `--config=${CONFIG}`, ...match[1].split(" "), MAIN, "server", command, ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("users lists who registered and was seen; ban ends a live session and refuses logins; unban lifts it", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const bob = new ClientProcess(dir, server.port);
  try {
    await chatSession(dir, server.port, ["/register alice"]);
    await bob.ask("/register bob", "Registration Succeeded");

    // The server writes last-seen times once a second (db/sqlite/store.ts): ask until they are there.
    const seen = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
    let rows: string[][] = [];
    for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline;) {
      const users = await operator(dir, "users");
      assert.equal(users.code, 0, users.stderr);
      rows = users.stdout.trim().split("\n").map((line) => line.split(/\s{2,}/));
      if (rows.slice(1).every((row) => seen.test(row[2] ?? ""))) break;
    }
    assert.deepEqual(rows[0], ["NAME", "REGISTERED", "LAST SEEN", "BANNED"]);
    assert.deepEqual(rows.slice(1).map((row) => [row[0], row[3]]), [["alice", "-"], ["bob", "-"]]);
    for (const row of rows.slice(1)) assert.match(row[2], seen);

    // The certificate bob registered with, as the TTP's revoke takes it.
    const cert = await operator(dir, "cert", "bob");
    assert.equal(cert.code, 0, cert.stderr);
    const pem = (text: string) => text.replace(/\s+/g, "");
    assert.equal(
      pem(cert.stdout),
      pem(await Deno.readTextFile(join(dir, "clientkeys/bob/cert.pem"))),
    );
    assert.equal((await operator(dir, "cert", "nobody")).code, 1);

    const ban = await operator(dir, "ban", "bob");
    assert.equal(ban.code, 0, ban.stderr);
    assert.equal(ban.stdout, "banned bob\n");
    // The running server ends bob's session by itself; bob's client tries
    // again, is refused, and stops.
    await assertSessionEnded(server, bob, dir, "bob", "banned by the operator");
    assert.match((await operator(dir, "users")).stdout, /^bob .* \d\d:\d\d:\d\d\n$/m);

    assert.equal((await operator(dir, "ban", "nobody")).code, 1);
    assert.equal((await operator(dir, "ban", "../x")).code, 2);
    const unban = await operator(dir, "unban", "bob");
    assert.equal(unban.stdout, "unbanned bob\n");
    // Within the poll interval the server lets bob in again.
    let reply = "";
    for (let attempt = 0; attempt < 50 && reply !== "Authentication Succeeded"; attempt++) {
      reply = (await chatSession(dir, server.port, ["/login bob"])).stdout.split("\n")[0];
    }
    assert.equal(reply, "Authentication Succeeded");
  } finally {
    bob.kill();
    await server.stop();
  }
});

Deno.test("backup copies every committed message while the server runs, and overwrites nothing", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--rate", "100000", "--burst", "100000"]);
  try {
    const lines = ["/register sam", ...Array.from({ length: 300 }, (_, i) => `message ${i}`)];
    const sent = await chatSession(dir, server.port, lines);
    assert.match(sent.stdout, /sam: message 299\n$/);
    // The server still runs: the messages sit in chat.db-wal, not yet in chat.db.
    await Deno.mkdir(join(dir, "backups"));
    const backup = await operator(dir, "backup", "backups/chat.db");
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.stdout, "wrote backups/chat.db (a consistent copy of chat.db)\n");
    const copy = new DatabaseSync(join(dir, "backups/chat.db"), { readOnly: true });
    const { n } = copy.prepare("SELECT count(*) AS n FROM messages").get() as { n: number };
    copy.close();
    assert.equal(n, 300);

    const again = await operator(dir, "backup", "backups/chat.db");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^chat: error: cannot write "backups\/chat\.db": already exists/);
    const outside = await operator(dir, "backup", "elsewhere.db");
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /not allowed by this command's permissions/);
    await assert.rejects(Deno.stat(join(dir, "elsewhere.db")), Deno.errors.NotFound);
  } finally {
    await server.stop();
  }
});

Deno.test("each operator command has --help", async () => {
  const dir = await makeDataDir();
  for (const command of ["users", "ban", "unban", "cert", "backup"]) {
    const help = await operator(dir, command, "--help");
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^chat server ${command}`));
    assert.match(help.stdout, /Example:\n {2}\$ chat server /);
  }
});
