/**
 * The programs touch no file but chat.db, clientkeys/ and serverkeys/ (and
 * the TTP's ttpkeys/): Deno's permission flags of each task refuse anything
 * else, and a symbolic link planted inside a key folder does not lead out of
 * it, though Deno's flags would let it (they check the path as written).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SERVER_ENV } from "../cli/permissions.ts";
import {
  chatSession,
  CONFIG,
  makeDataDir,
  runChat,
  ServerProcess,
  taskFlags,
} from "../testing/chat.ts";
import { runWithTimeout } from "../testing/child.ts";

Deno.test("each task's flags allow only its own folders", () => {
  const flag = (task: "ca" | "server" | "client", name: string) =>
    taskFlags(task).find((f) => f.startsWith(`--allow-${name}=`))?.split("=")[1].split(",") ?? [];
  const database = ["chat.db", "chat.db-wal", "chat.db-shm", "chat.db-journal"];
  assert.deepEqual(flag("server", "read"), ["serverkeys", ...database]);
  assert.deepEqual(flag("server", "write"), database);
  assert.deepEqual(flag("client", "read"), ["clientkeys"]);
  assert.deepEqual(flag("client", "write"), ["clientkeys"]);
  assert.deepEqual(flag("ca", "read"), ["ttpkeys", "serverkeys", "clientkeys"]);
  // The server reads only where its engines are, and what the PostgreSQL client reads.
  assert.deepEqual(flag("server", "env"), SERVER_ENV);
  for (const task of ["ca", "server", "client"] as const) {
    const flags = taskFlags(task);
    assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"), task);
    assert.ok(
      !flags.some((f) => /^--allow-(read|write|env|ffi|sys)$/.test(f)),
      `${task}: ${flags}`,
    );
    assert.ok(!flags.some((f) => f.startsWith("--allow-ffi") || f.startsWith("--allow-sys")), task);
  }
  assert.ok(!taskFlags("server").some((f) => f.startsWith("--allow-run")));
});

Deno.test("a symlink planted in clientkeys/ does not let the client read or write outside", async () => {
  const dir = await makeDataDir();
  const outside = await Deno.makeTempDir({ prefix: "chat-outside-" });
  const server = await ServerProcess.start(dir);
  try {
    // The user's folder is a link to somewhere else.
    await Deno.symlink(outside, join(dir, "clientkeys", "mallory"));
    const out = await chatSession(dir, server.port, ["/register mallory"]);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /"clientkeys\/mallory" is a symbolic link; refusing to follow it/);
    assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing was written outside");

    // A key file that is a link to a file outside is not read either.
    await chatSession(dir, server.port, ["/register sam"]);
    const secret = join(outside, "secret.pem");
    await Deno.writeTextFile(secret, "-----BEGIN PRIVATE KEY-----\nnot yours\n");
    await Deno.remove(join(dir, "clientkeys", "sam", "key.pem"));
    await Deno.symlink(secret, join(dir, "clientkeys", "sam", "key.pem"));
    const login = await chatSession(dir, server.port, ["/login sam"]);
    assert.notEqual(login.code, 0);
    assert.match(login.stderr, /key\.pem" is a symbolic link/);
  } finally {
    await server.stop();
  }
});

Deno.test("a symlink in serverkeys/ or as chat.db stops the server before it reads or writes", async () => {
  const dir = await makeDataDir();
  const outside = await Deno.makeTempDir({ prefix: "chat-outside-" });
  await Deno.symlink(join(outside, "chat.db"), join(dir, "chat.db"));
  const linkedDb = await runChat("server", ["0"], dir);
  assert.equal(linkedDb.code, 1);
  assert.match(linkedDb.stderr, /"chat\.db" is a symbolic link; refusing to open it/);
  assert.deepEqual([...Deno.readDirSync(outside)], []);
  await Deno.remove(join(dir, "chat.db"));

  await Deno.rename(join(dir, "serverkeys", "server.key"), join(outside, "server.key"));
  await Deno.symlink(join(outside, "server.key"), join(dir, "serverkeys", "server.key"));
  const linkedKey = await runChat("server", ["0"], dir);
  assert.equal(linkedKey.code, 1);
  assert.match(linkedKey.stderr, /server\.key" is a symbolic link/);
});

Deno.test("the client cannot write outside clientkeys/ even if its code tried (NotCapable)", async () => {
  // The client task's flags, on a script that tries; proves the flags, not our code.
  const dir = await makeDataDir();
  const probe = join(dir, "probe.ts");
  await Deno.writeTextFile(
    probe,
    `for (const path of ["chat.db", "ttpkeys/ca.key", "serverkeys/x", "../escape"]) {
      try { Deno.writeTextFileSync(path, "x"); console.log("WROTE " + path); }
      catch (e) { console.log(e.name + " " + path); }
    }
    try { Deno.readTextFileSync("ttpkeys/ca.key"); console.log("READ ttpkeys/ca.key"); }
    catch (e) { console.log(e.name + " read ttpkeys/ca.key"); }`,
  );
  const { stdout } = await runWithTimeout(
    new Deno.Command(Deno.execPath(), {
      args: ["run", ...taskFlags("client"), probe],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }),
  );
  const lines = stdout.trim().split("\n");
  assert.deepEqual(lines, [
    "NotCapable chat.db",
    "NotCapable ttpkeys/ca.key",
    "NotCapable serverkeys/x",
    "NotCapable ../escape",
    "NotCapable read ttpkeys/ca.key",
  ]);
});

Deno.test("with the compile task's union of flags, each command narrows to its own files", async () => {
  const dir = await makeDataDir();
  const config = JSON.parse(await Deno.readTextFile(CONFIG));
  const flags = (config.tasks.compile.command as string).split(" ")
    .filter((flag) => flag.startsWith("--allow-"))
    .map((flag) => flag.replace("--allow-run=./chat,chat", `--allow-run=${Deno.execPath()}`));
  const probe = join(dir, "probe.ts");
  await Deno.writeTextFile(
    probe,
    `import { narrowPermissions } from ${
      JSON.stringify(new URL("../cli/permissions.ts", import.meta.url).href)
    };
    narrowPermissions(Deno.args[0]);
    const results = [];
    for (const [kind, path] of [["read", "ttpkeys/ca.key"], ["read", "serverkeys/server.key"],
      ["read", "clientkeys/ca.crt"], ["write", "chat.db"], ["write", "clientkeys/x"],
      ["write", "ttpkeys/x"], ["write", "serverkeys/x"]]) {
      const status = await Deno.permissions.query({ name: kind, path });
      if (status.state === "granted") results.push(kind + " " + path);
    }
    console.log(results.join(", "));`,
  );
  const allowed = async (command: string) => {
    const out = await runWithTimeout(
      new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, probe, command],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }),
    );
    return out.stdout.trim();
  };
  assert.equal(await allowed("server"), "read serverkeys/server.key, write chat.db");
  assert.equal(await allowed("client"), "read clientkeys/ca.crt, write clientkeys/x");
  assert.equal(await allowed("ca sign"), "read ttpkeys/ca.key");
  assert.equal(
    await allowed("ca init"),
    "read ttpkeys/ca.key, read serverkeys/server.key, read clientkeys/ca.crt, " +
      "write clientkeys/x, write ttpkeys/x, write serverkeys/x",
  );
});
