/**
 * Clients through HAProxy (deploy/haproxy.cfg, TCP mode, TLS passed through)
 * to two nodes on PostgreSQL and NATS (SPEC section 7): connections spread
 * over both nodes, messages cross them, and when a node is killed the health
 * check takes it out so its users log in again through the same address.
 * SKIPPED, loudly, without postgresql, nats-server or haproxy.
 */

import assert from "node:assert/strict";
import { CONNECTION_LOST } from "../client/client.ts";
import { engineProblem } from "../testing/engines.ts";
import { startCluster } from "../testing/cluster.ts";
import { haproxyProblem, startHaproxy } from "../testing/haproxy.ts";
import { ClientProcess, WAIT_MS } from "../testing/chat.ts";

const unavailable = engineProblem() ?? haproxyProblem();
if (unavailable !== null) {
  console.error(`\n*** SKIPPED: HAProxy test (tests/haproxy_test.ts): ${unavailable} ***\n`);
}

Deno.test({
  name: "clients through HAProxy reach two nodes as one server, and survive losing one",
  ignore: unavailable !== null,
  async fn() {
    // As README says to run nodes behind HAProxy: per-address limits are the proxy's.
    const cluster = await startCluster({
      nodes: 2,
      flags: ["--max-per-address", "100000", "--login-attempts", "1000000"],
    });
    const proxy = await startHaproxy(cluster.nodes.map((node) => node.port));
    const clients: ClientProcess[] = [];
    try {
      const connect = async () => {
        const client = new ClientProcess(cluster.dir, proxy.port);
        clients.push(client);
        // Connected (through the proxy, to a node) once the server answers.
        await client.ask("/users", "error: command not currently available");
        return client;
      };
      const [alice, bob, carol, dave] = [
        await connect(),
        await connect(),
        await connect(),
        await connect(),
      ];
      for (
        const [client, name] of [[alice, "alice"], [bob, "bob"], [carol, "carol"], [
          dave,
          "dave",
        ]] as const
      ) {
        await client.ask(`/register ${name}`, "Registration Succeeded");
      }
      // leastconn spread the four long connections over both nodes.
      const loggedIn = cluster.nodes.map((node) =>
        node.log.lines.filter((line) => / login "/.test(line)).length
      );
      assert.deepEqual(loggedIn.map((n) => n > 0), [true, true], `logins per node: ${loggedIn}`);
      assert.equal(await alice.ask("/users", /^[a-z ]+$/), "alice bob carol dave");
      await alice.ask("hello through the proxy", / alice: hello through the proxy$/);
      for (const c of [bob, carol, dave]) {
        await c.output.waitFor(/ alice: hello through the proxy$/);
      }

      // Kill the node that serves bob; his client loses its connection.
      const bobNode = cluster.nodes.find((node) =>
        node.log.lines.some((l) => / login "bob"/.test(l))
      )!;
      await bobNode.kill();
      // His client says so, and through the same address logs in again by
      // itself, on the other node, once his session there is released
      // (the dead node's heartbeat ages out within seconds).
      await bob.output.waitFor(CONNECTION_LOST);
      await bob.output.waitFor("reconnected to the server", 0, WAIT_MS * 2);
      await bob.ask("back through the proxy", / bob: back through the proxy$/);
      await alice.output.waitFor(/ bob: back through the proxy$/);
    } finally {
      for (const client of clients) client.kill();
      await proxy.stop();
      await cluster.stop();
    }
  },
});
