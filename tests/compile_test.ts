/**
 * The compiled binary, end to end: `deno compile` needs a `denort` runtime
 * that these machines cannot download (SPEC section 5), so this runs only
 * when DENORT_BIN points at one, and is reported as ignored otherwise.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CONFIG, LineReader, MAIN, withoutTimes } from "../testing/chat.ts";
import { killChild, RUN_MS, runWithTimeout } from "../testing/child.ts";
import { withDeadline } from "../testing/deadline.ts";

const denort = Deno.env.get("DENORT_BIN");

Deno.test({
  name: "compiled ./chat runs ca init, server and client (skipped without DENORT_BIN)",
  ignore: !denort,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chat-compile-" });
    const config = JSON.parse(await Deno.readTextFile(CONFIG));
    const flags = (config.tasks.compile.command as string)
      .replace(/^deno compile /, "").replace(/ main\.ts$/, "").split(" ");
    const build = await runWithTimeout(
      new Deno.Command(Deno.execPath(), {
        args: ["compile", `--config=${CONFIG}`, ...flags, MAIN],
        cwd: dir,
        env: { DENORT_BIN: denort! },
        stdout: "piped",
        stderr: "piped",
      }),
      undefined,
      120_000,
      "deno compile",
    );
    assert.equal(build.code, 0, build.stderr);
    const chat = join(dir, "chat");
    const command = (args: string[], input?: string) =>
      new Deno.Command(chat, {
        args,
        cwd: dir,
        stdin: input === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      });
    const run = (args: string[], input?: string) =>
      runWithTimeout(command(args, input), input, undefined, `./chat ${args.join(" ")}`);
    assert.equal((await run(["ca", "init"])).code, 0);
    const server = command(["server", "0"]).spawn();
    const log = new LineReader(server.stdout);
    try {
      const port = /:(\d+)$/.exec(await log.waitFor(/^listening on /))![1];
      const client = await run(["client", "127.0.0.1", port], "/register sam\nhello\n");
      assert.deepEqual(withoutTimes(client.stdout), [
        "Registration Succeeded",
        "sam: hello",
      ]);
    } finally {
      killChild(server, "SIGTERM");
      await withDeadline(server.status, RUN_MS, "./chat server to stop").catch((error) => {
        killChild(server);
        throw error;
      });
      await server.stderr.cancel();
      await log.done;
    }
  },
});
