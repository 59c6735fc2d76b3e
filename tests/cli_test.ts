/**
 * The command line as a user meets it: `--version` and `--help` after every
 * command and subcommand, help whose columns line up, usage errors in our
 * voice, and hints that name the task a README reader runs.
 */

import assert from "node:assert/strict";
import { runChat } from "../testing/chat.ts";

Deno.test("--version and --help work after every command and subcommand", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  const cases: Array<["ca" | "server" | "client", string[]]> = [
    ["ca", []],
    ["ca", ["init"]],
    ["ca", ["sign"]],
    ["server", []],
    ["client", []],
  ];
  for (const [task, args] of cases) {
    for (const flag of ["--version", "-V"]) {
      const out = await runChat(task, [...args, flag], dir);
      assert.equal(out.code, 0, `${task} ${args} ${flag}: ${out.stderr}`);
      assert.match(out.stdout, /^chat \d+\.\d+\.\d+\n$/);
      assert.equal(out.stderr, "");
    }
    const help = await runChat(task, [...args, "--help"], dir);
    assert.equal(help.code, 0, `${task} ${args} --help: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^chat ${task}`));
  }
  // Nothing was created by asking.
  assert.deepEqual([...Deno.readDirSync(dir)], []);
});

Deno.test("server --help lines every option's text up in one column", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  const help = (await runChat("server", ["--help"], dir)).stdout;
  const limits = help.split("\n").filter((line) => /^ {2}--[a-z-]+ N/.test(line));
  assert.ok(limits.length >= 5, help);
  const columns = new Set(limits.map((line) => /^ {2}--[a-z-]+ N */.exec(line)![0].length));
  assert.equal(columns.size, 1, limits.join("\n"));
});

Deno.test("usage errors name the option plainly and exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  const unknown = await runChat("server", ["--bogus"], dir);
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.stderr,
    'chat: error: unknown option "--bogus"\nchat: hint: add "--help" for usage\n',
  );
  const missing = await runChat("server", ["--port"], dir);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^chat: error: option "--port" needs a value\n/);
});
