/**
 * A registration whose `ok` the client never saw (issue 8: the connection
 * dropped after the server stored the user): the client keeps its staged
 * keys until it knows the outcome, and `/register NAME` again finishes the
 * registration with them, instead of losing the name for good.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeServer } from "../testing/fake_server.ts";
import { makeDataDir, runChat, ServerProcess } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";

async function stagedFolders(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(dir, "clientkeys"))) {
    if (entry.name.startsWith(".pending-carol-")) found.push(join(dir, "clientkeys", entry.name));
  }
  return found;
}

Deno.test("a registration whose ok was lost keeps its keys, and /register finishes it", async () => {
  const dir = await makeDataDir();
  // 1. A server that takes the registration and drops the connection before any answer.
  const fake = await startFakeServer(dir, (socket, frame) => {
    if (frame.type === "hello") socket.write('{"type":"hello","version":2}\n');
    if (frame.type === "register") socket.destroy();
  });
  let lost;
  let sent: Record<string, unknown>[];
  try {
    lost = await runChat("client", ["127.0.0.1", String(fake.port)], dir, "/register carol\n");
    sent = new TextDecoder().decode(fake.received()).trim().split("\n").map((l) => JSON.parse(l));
  } finally {
    fake.close();
  }
  assert.match(lost.stdout, /^hint: the server may have registered carol; \/register carol again/m);
  const [staged] = await stagedFolders(dir);
  assert.ok(staged, "the staged keys are kept");

  // 2. The real server did store carol with those keys: the state the lost `ok` leaves.
  const server = await ServerProcess.start(dir);
  try {
    const certificate = await Deno.readTextFile(join(staged, "cert.pem"));
    const keys = await Deno.readTextFile(join(staged, "key.pem"));
    const [key] = keys.split(/(?<=-----END PRIVATE KEY-----\n)/);
    const ca = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
    const raw = await RawClient.connect(server.port, ca, { certificate, key });
    await raw.hello();
    // The very register frame the client sent, now received by the real server.
    const register = sent.find((frame) => frame.type === "register")!;
    const wire = await raw.request({ ...register, id: 1 } as Parameters<RawClient["request"]>[0]);
    raw.close();
    assert.equal(wire.at(-1)?.type, "history_end", JSON.stringify(wire));

    // 3. The stock client finishes it with the same keys, and carol can log in.
    const again = await runChat(
      "client",
      ["127.0.0.1", String(server.port)],
      dir,
      "/register carol\n",
    );
    assert.equal(again.stdout.split("\n")[0], "Registration Succeeded", again.stdout);
    assert.deepEqual(await stagedFolders(dir), []);
    assert.equal(
      await Deno.readTextFile(join(dir, "clientkeys", "carol", "cert.pem")),
      certificate,
    );
    await server.log.waitFor(/registered "carol" .*\(again, same key\)/);
    const login = await runChat(
      "client",
      ["127.0.0.1", String(server.port)],
      dir,
      "/login carol\n",
    );
    assert.equal(login.stdout.split("\n")[0], "Authentication Succeeded");

    // Other keys for a taken name are refused, and their staged copy is dropped.
    const other = await runChat(
      "client",
      ["127.0.0.1", String(server.port)],
      dir,
      "/register CAROL\n",
    );
    assert.equal(other.stdout.split("\n")[0], "error: user already exists");
    assert.deepEqual(await stagedFolders(dir), []);
  } finally {
    await server.stop();
  }
});
