/**
 * History that scales (SPEC section 2, "History"): a login shows the most
 * recent messages (`--history N`, 1,000 by default, `all` allowed) after one
 * line saying how many earlier ones there are; `/history [N]` shows the N
 * before the oldest one shown. The client keeps the messages it verified in
 * `clientkeys/NAME/history`, encrypted: a later login asks the server only
 * for what is new, and a damaged store is discarded and rebuilt.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  chatSession,
  makeDataDir,
  type Output,
  runChat,
  ServerProcess,
  withoutTimes,
} from "../testing/chat.ts";

/** `chat client` on `port` with `args`, fed `lines`. */
function client(dir: string, port: number, args: string[], lines: string[]): Promise<Output> {
  return runChat("client", ["127.0.0.1", String(port), ...args], dir, lines.join("\n") + "\n");
}

const storeOf = (dir: string, name: string) => join(dir, "clientkeys", name, "history");

Deno.test("a login shows the last N messages after one line on the earlier ones; /history [N] the ones before", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam", "one", "two", "three", "four", "five"]);
    const expected = [
      "Authentication Succeeded",
      "* 2 earlier messages are not shown: /history [N] shows them",
      "sam: three",
      "sam: four",
      "sam: five",
      "* 1 earlier message is not shown: /history [N] shows it",
      "sam: two",
      "sam: one",
      "* no earlier messages",
      "error: invalid command format",
      "hint: /history [N]: N is a number of messages, 1 to 9999999",
    ];
    const lines = ["/login sam", "/history 1", "/history", "/history", "/history x"];
    // From the store the registration wrote, then without it (all from the server): the same.
    for (const stored of [true, false]) {
      if (!stored) await Deno.remove(storeOf(dir, "sam"));
      const out = await client(dir, server.port, ["--history", "3"], lines);
      assert.equal(out.stderr, "");
      assert.equal(out.code, 0);
      assert.deepEqual(withoutTimes(out.stdout), expected, stored ? "with the store" : "without");
    }

    const all = await client(dir, server.port, ["--history", "all"], ["/login sam"]);
    assert.deepEqual(withoutTimes(all.stdout), [
      "Authentication Succeeded",
      "sam: one",
      "sam: two",
      "sam: three",
      "sam: four",
      "sam: five",
    ]);
    // More new messages than the window since the last login: the stored ones are not shown,
    // and the line counts them too.
    await chatSession(dir, server.port, ["/register erik", "e1", "e2", "e3", "e4", "e5"]);
    const gap = await client(dir, server.port, ["--history", "3"], ["/login sam", "/history 4"]);
    assert.deepEqual(withoutTimes(gap.stdout), [
      "Authentication Succeeded",
      "* 7 earlier messages are not shown: /history [N] shows them",
      "erik: e3",
      "erik: e4",
      "erik: e5",
      "* 3 earlier messages are not shown: /history [N] shows them",
      "sam: four",
      "sam: five",
      "erik: e1",
      "erik: e2",
    ]);

    const bad = await client(dir, server.port, ["--history", "lots"], []);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --history "lots"/);
  } finally {
    await server.stop();
  }
});

/**
 * A TCP relay in front of the server that counts the bytes the server sends
 * (TLS passes through it untouched): what a login downloads.
 */
function relay(port: number): { port: number; received: () => number; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = 0;
  const pipe = async (from: Deno.Conn, to: Deno.Conn, count: boolean) => {
    try {
      for await (const chunk of from.readable.values({ preventCancel: true })) {
        if (count) received += chunk.byteLength;
        await to.write(chunk);
      }
    } catch {
      // Either side went away.
    } finally {
      await Promise.resolve().then(() => to.closeWrite()).catch(() => {
        // already closed
      });
    }
  };
  (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      Promise.all([pipe(conn, upstream, false), pipe(upstream, conn, true)]).finally(() => {
        for (const c of [conn, upstream]) {
          try {
            c.close();
          } catch {
            // already closed
          }
        }
      });
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received: () => received,
    close: () => listener.close(),
  };
}

Deno.test("a later login downloads only the new messages; old ones come from the store, as verified", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const proxy = relay(server.port);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    const long = (i: number) => `${i} ${"the quick brown fox jumps over the lazy dog ".repeat(30)}`;
    await chatSession(dir, server.port, [
      "/register erik",
      ...Array.from({ length: 40 }, (_, i) => long(i)),
      "@sam meet at noon",
    ]);
    const first = await client(dir, proxy.port, [], ["/login sam"]);
    const firstBytes = proxy.received();
    assert.equal(withoutTimes(first.stdout).length, 1 + 41);

    await chatSession(dir, server.port, ["/login erik", "one more"]);
    // The server now lies about the old messages; the store does not ask it again.
    const db = new DatabaseSync(join(dir, "chat.db"));
    try {
      db.prepare("UPDATE messages SET body = 'pay mallory 1000 dollars' WHERE body LIKE '0 %'")
        .run();
    } finally {
      db.close();
    }
    const later = await client(dir, proxy.port, [], ["/login sam"]);
    const laterBytes = proxy.received() - firstBytes;
    assert.equal(later.stderr, "");
    assert.deepEqual(withoutTimes(later.stdout), [
      ...withoutTimes(first.stdout),
      "erik: one more",
    ]);
    // 41 messages of over 1,300 bytes the first time; handshakes and one message the second.
    assert.ok(firstBytes > 41 * 1300, `first login: ${firstBytes} bytes`);
    assert.ok(laterBytes < firstBytes / 3, `later login: ${laterBytes} of ${firstBytes} bytes`);

    // Without the store, the server's altered copy is what arrives: a warning.
    await Deno.remove(storeOf(dir, "sam"));
    const fresh = await client(dir, proxy.port, [], ["/login sam"]);
    assert.match(fresh.stdout, /warning: public message #\d+ from erik failed verification/);
    assert.ok(!fresh.stdout.includes("mallory"));
  } finally {
    proxy.close();
    await server.stop();
  }
});

Deno.test("a damaged or altered store is discarded and rebuilt from the server, never a crash", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register erik", "hello", "@erik note to self"]);
    await chatSession(dir, server.port, ["/register sam", "hi erik", "@erik a secret"]);
    const expected = withoutTimes((await client(dir, server.port, [], ["/login erik"])).stdout);
    assert.deepEqual(expected, [
      "Authentication Succeeded",
      "erik: hello",
      "erik: @erik note to self",
      "sam: hi erik",
      "sam: @erik a secret",
    ]);
    const path = storeOf(dir, "erik");
    const good = await Deno.readFile(path);
    const damaged: Array<[string, Uint8Array]> = [
      ["truncated", good.subarray(0, Math.floor(good.length / 2))],
      ["empty", new Uint8Array()],
      ["a flipped bit", good.map((b, i) => i === good.length - 20 ? b ^ 1 : b)],
      ["garbage", crypto.getRandomValues(new Uint8Array(good.length))],
      ["sam's store", await Deno.readFile(storeOf(dir, "sam"))],
    ];
    for (const [what, bytes] of damaged) {
      await Deno.writeFile(path, bytes);
      const out = await client(dir, server.port, [], ["/login erik"]);
      assert.equal(out.code, 0, what);
      assert.equal(out.stderr, "", what);
      assert.deepEqual(withoutTimes(out.stdout), expected, what);
      // Rebuilt: what the next login reads is a store again.
      assert.notDeepEqual(await Deno.readFile(path), bytes, `${what}: not rebuilt`);
      assert.ok((await Deno.stat(path)).size > 0, what);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("with a password on the key, the store holds no message text in the clear", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  const secret = "the-eagle-lands-at-midnight";
  const canary = "public-canary-for-the-store";
  try {
    await chatSession(dir, server.port, ["/register sam hunter2-but-longer"]);
    await chatSession(dir, server.port, ["/register erik", `@sam ${secret}`, canary]);
    const out = await client(dir, server.port, [], ["/login sam hunter2-but-longer"]);
    assert.deepEqual(withoutTimes(out.stdout), [
      "Authentication Succeeded",
      `erik: @sam ${secret}`,
      `erik: ${canary}`,
    ]);
    const path = storeOf(dir, "sam");
    const bytes = await Deno.readFile(path);
    assert.ok(bytes.length > 0);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const text = new TextDecoder("latin1").decode(bytes);
    for (const needle of [secret, canary, "erik"]) {
      assert.ok(!text.includes(needle), `"${needle}" in the store`);
      assert.ok(!text.includes(btoa(needle).slice(0, 16)), `base64 of "${needle}" in the store`);
    }
    // And the store serves the next login (the same lines, the key unlocked again).
    const again = await client(dir, server.port, [], ["/login sam hunter2-but-longer"]);
    assert.deepEqual(withoutTimes(again.stdout), withoutTimes(out.stdout));
  } finally {
    await server.stop();
  }
});
