/**
 * The client may run the TTP and nothing else (SECURITY.md, issue 8 item 6
 * of what was seen): under the client task's exact flags, starting deno
 * itself (`deno eval`, which could read ttpkeys/ca.key) is NotCapable, and
 * the one program it may run takes no arguments from it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { makeDataDir, taskFlags } from "../testing/chat.ts";
import { SIGN_SCRIPT } from "../client/registration.ts";

Deno.test("the client's flags run the TTP's fixed command, never deno with other arguments", async () => {
  const dir = await makeDataDir();
  const runFlags = taskFlags("client").filter((flag) => flag.startsWith("--allow-run"));
  assert.deepEqual(runFlags, [`--allow-run=${SIGN_SCRIPT}`]);
  const probe = join(dir, "probe.ts");
  await Deno.writeTextFile(
    probe,
    `const attempts = [
      [Deno.execPath(), ["eval", "console.log(Deno.readTextFileSync('ttpkeys/ca.key'))"]],
      ["deno", ["eval", "1"]],
      ["sh", ["-c", "cat ttpkeys/ca.key"]],
    ];
    for (const [command, args] of attempts) {
      try {
        new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync();
        console.log("RAN " + command);
      } catch (e) {
        console.log(e.name);
      }
    }
    // The TTP's own command ignores what it is given: it still only signs.
    const ttp = new Deno.Command(${JSON.stringify(SIGN_SCRIPT)}, {
      args: ["eval", "--allow-all", "console.log('escaped')"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = ttp.stdin.getWriter();
    await writer.write(new TextEncoder().encode("not a request"));
    await writer.close();
    const out = await ttp.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    console.log(out.code + " " + text.trim().split("\\n")[0]);
    // Nor can the environment swap in a "deno" the client wrote.
    Deno.mkdirSync("clientkeys/evil", { recursive: true });
    Deno.writeTextFileSync("clientkeys/evil/deno", "#!/bin/sh\\necho escaped\\n", { mode: 0o755 });
    const swapped = new Deno.Command(${JSON.stringify(SIGN_SCRIPT)}, {
      env: { PATH: Deno.cwd() + "/clientkeys/evil:/usr/bin:/bin" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const said = new TextDecoder().decode(swapped.stdout) + new TextDecoder().decode(swapped.stderr);
    console.log(swapped.code + " " + said.trim());`,
  );
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskFlags("client"), probe],
    cwd: dir,
  }).output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  assert.deepEqual(
    lines.slice(0, 3),
    ["NotCapable", "NotCapable", "NotCapable"],
    new TextDecoder().decode(stderr),
  );
  assert.match(lines[3], /^1 chat: error: .*request/);
  assert.match(lines[4], /^1 chat: error: refusing to run ".*clientkeys\/evil\/deno"/);
  assert.ok(!lines.join("\n").includes("escaped"));
});
