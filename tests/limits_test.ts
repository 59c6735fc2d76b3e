/**
 * The server's limits, each against a running server with the limit set
 * low: the limit holds, it is logged, and the server goes on serving.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import {
  chatSession,
  ClientProcess,
  makeDataDir,
  ServerProcess,
  WAIT_MS,
} from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";
import { withDeadline } from "../testing/deadline.ts";

async function credentials(dir: string, name: string) {
  return {
    certificate: await Deno.readTextFile(join(dir, "clientkeys", name, "cert.pem")),
    key: (await Deno.readTextFile(join(dir, "clientkeys", name, "key.pem")))
      .split(/(?<=-----END PRIVATE KEY-----\n)/)[0],
  };
}

const caOf = (dir: string) => Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));

Deno.test("connections beyond the per-address limit are refused, and counted down on close", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--max-per-address", "3"]);
  const ca = await caOf(dir);
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 3; i++) clients.push(await RawClient.connect(server.port, ca));
    for (const client of clients) await client.hello();
    await assert.rejects(async () => {
      const extra = await RawClient.connect(server.port, ca);
      clients.push(extra);
      await extra.hello();
    });
    await server.log.waitFor(/refused connection from .*: too many connections from this address/);
    for (const client of clients.splice(0)) client.close();
    // Slots come back as connections close.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      try {
        const again = await RawClient.connect(server.port, ca);
        clients.push(again);
        await again.hello();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    for (const client of clients) client.close();
    await server.stop();
  }
});

Deno.test("a stalled handshake and a connection that never logs in are closed by their timeouts", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, [
    "--handshake-timeout",
    "0.5",
    "--login-timeout",
    "1",
  ]);
  try {
    // Plain TCP that never starts TLS: without the handshake timeout it would stay open.
    let socket: net.Socket | undefined;
    const closed = new Promise<void>((resolve) => {
      socket = net.connect(server.port, "127.0.0.1");
      socket.on("error", () => {});
      socket.on("close", () => resolve());
    });
    try {
      await withDeadline(closed, WAIT_MS, "the server closing a stalled handshake");
    } finally {
      socket?.destroy();
    }
    await server.log.waitFor(/tls handshake failed from .*timeout/i);

    const anonymous = await RawClient.connect(server.port, await caOf(dir));
    await anonymous.hello();
    // next() fails after WAIT_MS if the connection stays open.
    assert.equal(await anonymous.next(), null, "closed without a word after the login timeout");
    anonymous.close();
    await server.log.waitFor(/closed connection .*: did not log in in time/);

    // The real client outlives its anonymous connection and can still register.
    const client = new ClientProcess(dir, server.port);
    try {
      await server.log.waitFor(/did not log in in time/, server.log.lines.length);
      await client.ask("/register patient", "Registration Succeeded");
      const out = await client.end();
      assert.equal(out.code, 0);
    } finally {
      client.kill();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("a logged-in connection that stays silent past the idle limit is closed", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--idle-timeout", "1"]);
  try {
    await chatSession(dir, server.port, ["/register quiet"]);
    const client = await RawClient.connect(
      server.port,
      await caOf(dir),
      await credentials(dir, "quiet"),
    );
    await client.hello();
    const login = await client.request({ type: "login", id: 1, name: "quiet" });
    assert.deepEqual(login[0], { type: "ok", re: 1, status: "authenticated" });
    assert.equal(await client.next(), null);
    client.close();
    await server.log.waitFor(/closed connection .*: idle too long/);
  } finally {
    await server.stop();
  }
});

Deno.test("requests beyond the rate are delayed, none dropped", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--rate", "20", "--burst", "5"]);
  try {
    const client = await RawClient.connect(server.port, await caOf(dir));
    await client.hello();
    const start = Date.now();
    await client.send(
      Array.from({ length: 25 }, (_, i) => JSON.stringify({ type: "ping", id: i + 1 }) + "\n")
        .join(""),
    );
    for (let i = 1; i <= 25; i++) assert.deepEqual(await client.next(), { type: "pong", re: i });
    // 5 at once, then 20 at 20 per second: at least about a second.
    assert.ok(Date.now() - start >= 900, `25 pings answered in ${Date.now() - start} ms`);
    client.close();
  } finally {
    await server.stop();
  }
});

Deno.test("login attempts beyond the per-address budget get rate_limited", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, ["--login-attempts", "3"]);
  try {
    const client = await RawClient.connect(server.port, await caOf(dir));
    await client.hello();
    for (let i = 1; i <= 3; i++) {
      const reply = await client.request({ type: "login", id: i, name: "guess" });
      assert.equal((reply.at(-1) as { code: string }).code, "invalid_credentials");
    }
    const limited = await client.request({ type: "login", id: 4, name: "guess" });
    assert.deepEqual(limited.at(-1), { type: "error", re: 4, code: "rate_limited" });
    await server.log.waitFor(/refused login of "guess" .*too many attempts/);
    client.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a reader that does not keep up is dropped, while a talker keeps getting its echoes", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir, [
    "--max-queued",
    "1024",
    "--rate",
    "100000",
    "--burst",
    "100000",
    "--messages-per-minute",
    "100000",
  ]);
  try {
    await chatSession(dir, server.port, ["/register sleepy"]);
    // Logged in, then never reads again.
    const sleepy = await RawClient.connect(
      server.port,
      await caOf(dir),
      await credentials(dir, "sleepy"),
    );
    await sleepy.hello();
    await sleepy.request({ type: "login", id: 1, name: "sleepy" });
    const talker = new ClientProcess(dir, server.port);
    try {
      await talker.ask("/register talker", "Registration Succeeded");
      const text = "y".repeat(1500);
      // Waves small enough for a reader that reads, until the sleeper is dropped.
      for (let i = 0; i < 20_000 && !server.log.text().includes("reader too slow"); i += 20) {
        for (let j = 0; j < 19; j++) await talker.send(`${i + j} ${text}`);
        await talker.ask(`${i + 19} ${text}`, new RegExp(`talker: ${i + 19} y`));
      }
      assert.match(server.log.text(), /closed connection .*: reader too slow/);
      // The sleeper's connection is gone: it reads what was queued, then the end.
      await sleepy.untilClosed();
      await talker.ask("still here", /talker: still here$/);
      const out = await talker.end();
      assert.equal(out.code, 0);
    } finally {
      talker.kill();
      sleepy.close();
    }
  } finally {
    await server.stop();
  }
});
