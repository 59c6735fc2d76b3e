/**
 * The storage contract against a real PostgreSQL (testing/engines.ts starts
 * one), plus what only this engine has: migrations under an advisory lock
 * when nodes start together. SKIPPED loudly when PostgreSQL is not installed.
 */

import assert from "node:assert/strict";
import { engineProblem, startPostgres } from "../../testing/engines.ts";
import { storeContract } from "../store_contract.ts";
import { connectPostgres } from "./driver.ts";
import { PostgresStore } from "./store.ts";

const unavailable = engineProblem();

/** A PostgreSQL cluster that hands out a fresh database per store. */
async function startEngine() {
  const engine = await startPostgres();
  const admin = await connectPostgres(engine.url, { max: 1, applicationName: "chat-test" });
  const urls = new Map<PostgresStore, string>();
  let databases = 0;
  const freshUrl = async () => {
    const name = `chat_test_${++databases}`;
    await admin.unsafe(`CREATE DATABASE ${name}`);
    return engine.url.replace(/\/chat$/, `/${name}`);
  };
  return {
    freshUrl,
    async open() {
      const url = await freshUrl();
      const store = await PostgresStore.open(url);
      urls.set(store, url);
      return store;
    },
    openPeer(first: unknown) {
      return PostgresStore.open(urls.get(first as PostgresStore)!);
    },
    async stop() {
      await admin.end({ timeout: 1 });
      await engine.stop();
    },
  };
}

storeContract("postgres", { start: startEngine, unavailable });

Deno.test({
  name: "postgres: nodes starting together migrate once, under the advisory lock",
  ignore: unavailable !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const engine = await startEngine();
    try {
      const url = await engine.freshUrl();
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(url)));
      try {
        const rows = await stores[0].sql.unsafe("SELECT version FROM schema_version");
        assert.equal(rows.length, 1);
        assert.ok(
          await stores[1].createUser("sam", {
            publicKey: new Uint8Array([1]),
            certificate: new Uint8Array([1]),
            encryptionKey: new Uint8Array([1]),
            keyBinding: new Uint8Array([1]),
          }, 0),
        );
        assert.equal(await stores[3].lastMessageId(), 0);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    } finally {
      await engine.stop();
    }
  },
});

Deno.test({
  name: "postgres: one session per user across nodes; a dead node's sessions are taken over",
  ignore: unavailable !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const engine = await startEngine();
    try {
      const url = await engine.freshUrl();
      const [a, b] = [await PostgresStore.open(url), await PostgresStore.open(url)];
      const [onA, onB] = [await a.openRoster("node-a"), await b.openRoster("node-b")];
      try {
        assert.equal(await onA.claim("sam"), true);
        assert.equal(await onB.claim("sam"), false, "sam is online on node a");
        assert.equal(await onB.claim("erik"), true);
        assert.deepEqual(await onA.names(), ["erik", "sam"]);
        // node a stops beating: it is dead once its heartbeat is old.
        await a.sql.unsafe(
          "UPDATE nodes SET seen_at = now() - interval '1 hour' WHERE id = 'node-a'",
        );
        assert.deepEqual(await onB.names(), ["erik"], "a dead node's users are not listed");
        assert.equal(await onB.claim("sam"), true, "taken over from the dead node");
        assert.equal(await onA.heartbeat(), true);
        assert.equal(await onA.claim("sam"), false, "back, but sam is on node b now");
        // Reaping tells exactly one caller who left with a dead node.
        await a.sql.unsafe(
          "UPDATE nodes SET seen_at = now() - interval '1 hour' WHERE id = 'node-b'",
        );
        const reaped = await Promise.all([onA.reapDeparted(), onA.reapDeparted()]);
        assert.deepEqual(reaped.flat().sort(), ["erik", "sam"]);
      } finally {
        await onA.close();
        await onB.close();
        await a.close();
        await b.close();
      }
    } finally {
      await engine.stop();
    }
  },
});
