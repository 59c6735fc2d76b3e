/**
 * The client at a terminal (SPEC section 2), driven through tmux: Tab
 * completion, presence and private-message lines, hidden password prompts
 * that keep passwords out of the line history, Ctrl-C and Ctrl-D, the shell
 * prompt on a fresh line at exit, and long pastes. Functional, not timed.
 */

import assert from "node:assert/strict";
import { ClientProcess, makeDataDir, ServerProcess } from "../testing/chat.ts";
import { hasTmux, SCREEN_WAIT_MS, TmuxPane } from "./tmux.ts";

const ignore = !hasTmux();
if (ignore) console.log("terminal tests skipped: tmux is not installed (.ci/run installs it)");

async function ask(client: ClientProcess, line: string, match: string | RegExp): Promise<void> {
  const from = client.output.lines.length;
  await client.send(line);
  await client.output.waitFor(match, from, SCREEN_WAIT_MS);
}

/** Registers NAME in the pane without a password (Enter at the password prompt). */
async function register(pane: TmuxPane, name: string): Promise<void> {
  await pane.waitFor("[not logged in, tls]");
  await pane.type(`/register ${name}`);
  await pane.keys("Enter");
  await pane.waitFor(`password for ${name}'s new key (Enter for none):`);
  await pane.keys("Enter");
  await pane.waitFor(`[${name}, tls+e2e]`);
}

Deno.test({
  name: "terminal: presence lines, Tab completion of commands and names, a private message",
  ignore,
  fn: async () => {
    const dir = await makeDataDir();
    const server = await ServerProcess.start(dir);
    const bob = new ClientProcess(dir, server.port);
    const pane = await TmuxPane.client(dir, server.port);
    try {
      await register(pane, "alice");
      await ask(bob, "/register bob", "Registration Succeeded");
      await pane.waitFor("* bob joined");

      await pane.type("/ms");
      await pane.keys("Tab");
      await pane.waitFor(/\] \/msg $/);
      await pane.keys("C-u");
      // Text and Tab in one go, as a fast typist or a paste sends them.
      await pane.keys("@b", "Tab");
      await pane.waitFor(/\] @bob $/);
      await pane.type("are you there?");
      await pane.keys("Enter");
      await bob.output.waitFor(/ alice: @bob are you there\?$/, 0, SCREEN_WAIT_MS);
      await bob.send("@alice yes!");
      await pane.waitFor(/ bob: @alice yes!/);

      await bob.send("/exit");
      await pane.waitFor("* bob left");
      await pane.keys("C-d");
      const screen = await pane.waitFor("[exited ");
      // The shell's output starts a line of its own.
      assert.match(screen, /^\[exited 0\]/m, screen);
    } finally {
      await pane.close();
      bob.kill();
      await server.stop();
    }
  },
});

Deno.test({
  name: "terminal: passwords are asked without echo and never enter the line history",
  ignore,
  fn: async () => {
    const dir = await makeDataDir();
    const server = await ServerProcess.start(dir);
    const secret = "s3cret-horse";
    let pane = await TmuxPane.client(dir, server.port);
    try {
      await pane.waitFor("[not logged in, tls]");
      await pane.type("/register carol");
      await pane.keys("Enter");
      await pane.waitFor("password for carol's new key (Enter for none):");
      await pane.type(secret);
      await pane.keys("Enter");
      await pane.waitFor("the same password again:");
      await pane.type(secret);
      await pane.keys("Enter");
      await pane.waitFor("Registration Succeeded");
      await pane.waitFor("[carol, tls+e2e]");
      assert.ok(!(await pane.screen()).includes(secret), "the password was shown");
      // Up recalls the command, and going further back finds no password.
      await pane.keys("Up");
      await pane.waitFor(/\] \/register carol$/);
      await pane.keys("Up");
      await pane.waitFor(/\[carol, tls\+e2e\] $/);
      assert.ok(!(await pane.screen()).includes(secret), "the password was recalled");
      await pane.keys("C-u", "C-d");
      await pane.waitFor("[exited 0]");
      await pane.close();

      // The key is encrypted: /login without a password asks for it, hidden.
      pane = await TmuxPane.client(dir, server.port);
      await pane.waitFor("[not logged in, tls]");
      await pane.type("/login carol");
      await pane.keys("Enter");
      await pane.waitFor("password for carol:");
      await pane.type(secret);
      await pane.keys("Enter");
      await pane.waitFor("Authentication Succeeded");
      assert.ok(!(await pane.screen()).includes(secret), "the password was shown");
      await pane.keys("C-d");
      await pane.waitFor("[exited 0]");
      await pane.close();

      // A password typed on the command line is kept out of the history.
      pane = await TmuxPane.client(dir, server.port);
      await pane.waitFor("[not logged in, tls]");
      await pane.type(`/login carol ${secret}`);
      await pane.keys("Enter");
      await pane.waitFor("Authentication Succeeded");
      await pane.keys("Up");
      await pane.waitFor(/\] \/login carol$/);
      await pane.keys("Up");
      await pane.waitFor(/\[carol, tls\+e2e\] $/);
      assert.ok(!(await pane.lastLine()).includes(secret), "the password was recalled");
    } finally {
      await pane.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "terminal: Ctrl-C clears a half-typed line and quits only on an empty one",
  ignore,
  fn: async () => {
    const dir = await makeDataDir();
    const server = await ServerProcess.start(dir);
    const pane = await TmuxPane.client(dir, server.port);
    try {
      await register(pane, "dave");
      await pane.type("half typed");
      await pane.waitFor(/\] half typed$/);
      await pane.keys("C-c");
      await pane.waitFor(/\[dave, tls\+e2e\] $/);
      await pane.type("still here");
      await pane.keys("Enter");
      await pane.waitFor(/ dave: still here$/m);
      await pane.keys("C-c");
      const screen = await pane.waitFor("[exited ");
      assert.match(screen, /^\[exited 0\]/m, screen);
      await server.log.waitFor(/logout "dave"/, 0, SCREEN_WAIT_MS);
    } finally {
      await pane.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "terminal: a long paste is taken whole; one over the limit is refused with the limit",
  ignore,
  fn: async () => {
    const dir = await makeDataDir();
    const server = await ServerProcess.start(dir);
    const pane = await TmuxPane.client(dir, server.port);
    try {
      await register(pane, "erin");
      const long = "p".repeat(1_987) + "END";
      await pane.paste(long);
      await pane.waitFor(/pEND$/);
      await pane.keys("Enter");
      await pane.waitFor(new RegExp(` erin: ${long}$`, "m"));
      await pane.paste("q".repeat(5_000));
      await pane.keys("Enter");
      await pane.waitFor("error: message too long (at most 2000 characters)");
      // Several lines in one paste are several messages, in order.
      await pane.paste("first line\nsecond line\n");
      await pane.waitFor(/ erin: first line\n.* erin: second line$/m);
    } finally {
      await pane.close();
      await server.stop();
    }
  },
});
