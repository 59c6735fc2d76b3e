/**
 * The compiled binary, end to end: `deno compile` needs a `denort` runtime
 * that these machines cannot download (SPEC section 5), so this runs only
 * when DENORT_BIN points at one, and is reported as ignored otherwise.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CONFIG, LineReader, MAIN, withoutTimes } from "./harness.ts";

const denort = Deno.env.get("DENORT_BIN");

Deno.test({
  name: "compiled ./chat runs ca init, server and client (skipped without DENORT_BIN)",
  ignore: !denort,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chat-compile-" });
    const config = JSON.parse(await Deno.readTextFile(CONFIG));
    const flags = (config.tasks.compile.command as string)
      .replace(/^deno compile /, "").replace(/ main\.ts$/, "").split(" ");
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["compile", `--config=${CONFIG}`, ...flags, MAIN],
      cwd: dir,
      env: { DENORT_BIN: denort! },
    }).output();
    assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
    const chat = join(dir, "chat");
    const run = (args: string[], input?: string) => {
      const child = new Deno.Command(chat, {
        args,
        cwd: dir,
        stdin: input === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (input !== undefined) {
        const writer = child.stdin.getWriter();
        writer.write(new TextEncoder().encode(input)).then(() => writer.close());
      }
      return child;
    };
    assert.equal((await run(["ca", "init"]).output()).code, 0);
    const server = run(["server", "0"]);
    const log = new LineReader(server.stdout);
    try {
      const port = /:(\d+)$/.exec(await log.waitFor(/^listening on /))![1];
      const client = await run(["client", "127.0.0.1", port], "/register sam\nhello\n").output();
      assert.deepEqual(withoutTimes(new TextDecoder().decode(client.stdout)), [
        "Registration Succeeded",
        "sam: hello",
      ]);
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await server.stderr.cancel();
      await log.done;
    }
  },
});
