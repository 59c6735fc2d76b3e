/**
 * `chat server --reuse-port`: two nodes on one host share one port (the
 * kernel spreads connections over them, SO_REUSEPORT) and behave as one
 * server through PostgreSQL and NATS (SPEC section 7); on chat.db it is
 * refused, since two processes on one SQLite file would each fan out only to
 * their own users.
 *
 * The two-node test needs postgresql and nats-server (as tests/cluster_test.ts);
 * without them it is reported ignored, with a SKIPPED line on stderr.
 */

import assert from "node:assert/strict";
import { engineProblem } from "../testing/engines.ts";
import { startCluster } from "../testing/cluster.ts";
import {
  ClientProcess,
  makeDataDir,
  runChat,
  type ServerProcess,
  WAIT_MS,
} from "../testing/chat.ts";

const unavailable = engineProblem();
if (unavailable !== null) {
  console.error(`\n*** SKIPPED: shared-port test (tests/reuse_port_test.ts): ${unavailable} ***\n`);
}

/** Clients started at most, one at a time, until each node has served one. */
const MAX_CLIENTS = 16;
/** Clients started at least. */
const MIN_CLIENTS = 4;

Deno.test("--reuse-port on chat.db is refused: one SQLite file serves one process", async () => {
  const dir = await makeDataDir();
  try {
    const result = await runChat("server", ["0", "--reuse-port"], dir);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^chat: error: a shared port is for several nodes, which need a shared database and bus$/m,
    );
    assert.match(result.stderr, /^chat: hint: give --database postgres:\/\/\.\.\. and --bus /m);
    assert.ok(!result.stdout.includes("listening on"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Which of `nodes` logged `user`'s registration (waits for the line). */
async function servedBy(nodes: ServerProcess[], user: string): Promise<number> {
  const line = `registered ${JSON.stringify(user)} from `;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const index = nodes.findIndex((node) => node.log.lines.some((l) => l.includes(line)));
    if (index !== -1) return index;
    if (Date.now() > deadline) throw new Error(`no node logged ${user}'s registration`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test({
  name: "two nodes with --reuse-port share one port and deliver to each other's users",
  ignore: unavailable !== null,
  async fn() {
    const cluster = await startCluster({ nodes: 0, flags: ["--reuse-port"] });
    const clients: ClientProcess[] = [];
    try {
      const a = await cluster.startNode();
      const b = await cluster.startNode([], a.port);
      assert.equal(b.port, a.port);
      for (const node of [a, b]) await node.log.waitFor(new RegExp(`, port ${a.port} shared$`));

      // Each connection goes to either node: connect until both have users.
      const users: string[][] = [[], []];
      while (clients.length < MIN_CLIENTS || users.some((u) => u.length === 0)) {
        assert.ok(clients.length < MAX_CLIENTS, `${MAX_CLIENTS} clients all on one node`);
        const name = `u${clients.length}`;
        const client = new ClientProcess(cluster.dir, a.port);
        clients.push(client);
        await client.ask(`/register ${name}`, "Registration Succeeded");
        users[await servedBy([a, b], name)].push(name);
      }
      const onA = clients[Number(users[0][0].slice(1))];
      const onB = clients[Number(users[1][0].slice(1))];
      const [nameA, nameB] = [users[0][0], users[1][0]];

      // A public message from a user on node a reaches every user, on either node.
      await onA.ask("hello across the port", new RegExp(` ${nameA}: hello across the port$`));
      for (const client of clients) {
        await client.output.waitFor(new RegExp(` ${nameA}: hello across the port$`));
      }
      // A private one from node b reaches its recipient on node a, and nobody else.
      await onB.ask(`@${nameA} psst`, new RegExp(` ${nameB}: @${nameA} psst$`));
      await onA.output.waitFor(new RegExp(` ${nameB}: @${nameA} psst$`));
      const later = new RegExp(` ${nameB}: after the secret$`);
      await onB.ask("after the secret", later);
      for (const client of clients) {
        await client.output.waitFor(later);
        if (client !== onA && client !== onB) {
          assert.ok(!client.output.text().includes("psst"), "a private message went astray");
        }
      }
    } finally {
      for (const client of clients) client.kill();
      await cluster.stop();
    }
  },
});
