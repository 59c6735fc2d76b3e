/**
 * The contract every storage engine keeps (db/store.ts), as one suite of
 * tests that any engine registers with its own opener: db/sqlite/store_test.ts
 * and db/postgres/store_test.ts run the same checks.
 */

import assert from "node:assert/strict";
import type { NewMessage, Store, StoredUser } from "./store.ts";

/** A running engine that can make stores on fresh databases. */
export interface ContractEngine {
  /** A store on a fresh, empty database. */
  open(): Promise<Store>;
  /** A second store on the same database as `first` (another node), when the engine has one. */
  openPeer?(first: Store): Promise<Store>;
  stop(): Promise<void>;
}

export interface ContractOptions {
  start(): Promise<ContractEngine>;
  /** Why the engine cannot be tested here: the suite is then reported SKIPPED, loudly. */
  unavailable?: string | null;
}

const key = (n: number) => new Uint8Array([n, n, n]);
export const contractUser = (publicKey: number, certificate = publicKey) => ({
  publicKey: key(publicKey),
  certificate: key(certificate),
  encryptionKey: key(9),
  keyBinding: key(8),
});

function message(sender: StoredUser, recipient: StoredUser | null, body: string): NewMessage {
  return { sender, recipient, body, signature: recipient === null ? "sig" : null, time: 10 };
}

export function storeContract(engine: string, options: ContractOptions): void {
  const cases: Array<[string, (store: Store, engine: ContractEngine) => Promise<void>]> = [];
  const test = (name: string, fn: (store: Store, engine: ContractEngine) => Promise<void>) =>
    cases.push([name, fn]);
  const unavailable = options.unavailable ?? null;
  if (unavailable !== null) {
    console.error(`\n*** SKIPPED: the ${engine} storage contract: ${unavailable} ***\n`);
  }
  Deno.test({
    name: `${engine}: the storage contract (db/store_contract.ts)`,
    ignore: unavailable !== null,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const running = await options.start();
      try {
        for (const [name, fn] of cases) {
          await t.step(name, async () => {
            const store = await running.open();
            try {
              await fn(store, running);
            } finally {
              await store.close();
            }
          });
        }
      } finally {
        await running.stop();
      }
    },
  });

  test("createUser() refuses a taken name in any case; findUser() matches exactly", async (store) => {
    const sam = await store.createUser("sam", contractUser(1, 2), 0);
    assert.ok(sam);
    assert.equal(sam.name, "sam");
    assert.equal(await store.createUser("sam", contractUser(3, 4), 0), null);
    assert.equal(await store.createUser("SAM", contractUser(3, 4), 0), null);
    assert.equal(await store.findUser("Sam"), null);
    const found = await store.findUser("sam");
    assert.deepEqual(found, sam);
    assert.deepEqual(found?.publicKey, key(1));
    assert.ok(found?.publicKey instanceof Uint8Array);
  });

  test("findKeys() gives what a user published, by exact name", async (store) => {
    await store.createUser("sam", contractUser(1, 2), 0);
    assert.equal(await store.findKeys("Sam"), null);
    assert.equal(await store.findKeys("nobody"), null);
    const keys = await store.findKeys("sam");
    assert.deepEqual(keys, { certificate: key(2), encryptionKey: key(9), keyBinding: key(8) });
    assert.ok(keys?.certificate instanceof Uint8Array);
  });

  test("createUser() refuses a name that looks like a taken one (case, i/l/1, o/0)", async (store) => {
    assert.ok(await store.createUser("alice", contractUser(1), 0));
    for (const lookalike of ["aIice", "a1ice", "ALICE", "alIce", "aLice"]) {
      assert.equal(await store.createUser(lookalike, contractUser(2), 0), null, lookalike);
    }
    assert.ok(await store.createUser("b0b", contractUser(3), 0));
    assert.equal(await store.createUser("BOB", contractUser(4), 0), null);
    assert.ok(await store.createUser("alicia", contractUser(5), 0), "a different name");
    assert.equal(await store.findUser("aIice"), null);
    assert.equal((await store.findUser("alice"))?.name, "alice");
  });

  test("historyWindow() finds where the last N messages begin, and counts the earlier ones", async (store) => {
    const sam = (await store.createUser("sam", contractUser(1), 0))!;
    const erik = (await store.createUser("erik", contractUser(2), 0))!;
    const eve = (await store.createUser("eve", contractUser(3), 0))!;
    // ids 1..8: public, erik->sam, eve->erik (not sam's), public, sam->erik, public, eve->erik, public
    await store.appendMessages([
      message(erik, null, "1"),
      message(erik, sam, "2"),
      message(eve, erik, "3"),
      message(eve, null, "4"),
      message(sam, erik, "5"),
      message(erik, null, "6"),
      message(eve, erik, "7"),
      message(sam, null, "8"),
    ]);
    // sam sees 1, 2, 4, 5, 6, 8.
    assert.deepEqual(await store.historyWindow(sam, 0, 8, 3), { afterId: 4, earlier: 3 });
    assert.deepEqual(await store.historyWindow(sam, 0, 8, 6), { afterId: 0, earlier: 0 });
    assert.deepEqual(await store.historyWindow(sam, 0, 8, 100), { afterId: 0, earlier: 0 });
    assert.deepEqual(await store.historyWindow(sam, 2, 7, 2), { afterId: 4, earlier: 1 });
    const page = await store.historyPage(sam, 4, 8, 100);
    assert.deepEqual(page.map((m) => m.body), ["5", "6", "8"]);
  });

  test("appendMessages() gives consecutive ids in order, from 1", async (store) => {
    const sam = (await store.createUser("sam", contractUser(1), 0))!;
    const erik = (await store.createUser("erik", contractUser(2), 0))!;
    assert.equal(await store.lastMessageId(), 0);
    const first = await store.appendMessages([message(sam, null, "a"), message(sam, erik, "b")]);
    const second = await store.appendMessages([message(erik, null, "c")]);
    assert.deepEqual([...first, ...second].map((m) => m.id), [1, 2, 3]);
    assert.deepEqual(first[1], {
      id: 2,
      time: 10,
      from: "sam",
      to: "erik",
      body: "b",
      signature: null,
    });
    assert.equal(await store.lastMessageId(), 3);
    assert.deepEqual(await store.messagesAfter(1, 10), [first[1], second[0]]);
    assert.deepEqual((await store.messagesAfter(0, 2)).map((m) => m.id), [1, 2]);
    assert.deepEqual(await store.appendMessages([]), []);
  });

  test("a batch of any size comes back with the ids each message was stored under", async (store) => {
    const sam = (await store.createUser("sam", contractUser(1), 0))!;
    const erik = (await store.createUser("erik", contractUser(2), 0))!;
    let next = 1;
    // Sizes around the SQLite store's rows per statement (32), and past it.
    for (const size of [1, 31, 32, 33, 64, 100]) {
      const batch = Array.from(
        { length: size },
        (_, i) => message(i % 3 === 0 ? erik : sam, i % 2 === 0 ? null : erik, `${size}/${i}`),
      );
      const stored = await store.appendMessages(batch);
      assert.deepEqual(stored.map((m) => m.id), batch.map((_, i) => next + i), `batch of ${size}`);
      const back = await store.messagesAfter(next - 1, size);
      assert.deepEqual(back, stored, `batch of ${size} read back`);
      next += size;
    }
  });

  test("findByClientId() finds what a sender stored under a client id, and only that", async (store) => {
    const sam = (await store.createUser("sam", contractUser(1), 0))!;
    const erik = (await store.createUser("erik", contractUser(2), 0))!;
    const [stored] = await store.appendMessages([
      { ...message(sam, erik, "once"), clientId: "c1-AAAAAAAAAAAAAAAA" },
      message(sam, null, "no id"),
    ]);
    assert.deepEqual(await store.findByClientId(sam, "c1-AAAAAAAAAAAAAAAA"), stored);
    assert.equal(await store.findByClientId(erik, "c1-AAAAAAAAAAAAAAAA"), null);
    assert.equal(await store.findByClientId(sam, "c2-AAAAAAAAAAAAAAAA"), null);
    // Another sender's messages under the same cid (cids are the client's
    // choice) are neither found for sam nor in the way of his.
    await store.appendMessages(
      Array.from(
        { length: 50 },
        () => ({ ...message(erik, null, "x"), clientId: "c1-AAAAAAAAAAAAAAAA" }),
      ),
    );
    assert.deepEqual(await store.findByClientId(sam, "c1-AAAAAAAAAAAAAAAA"), stored);
    assert.equal((await store.findByClientId(erik, "c1-AAAAAAAAAAAAAAAA"))?.from, "erik");
  });

  test("listUsers(), recordSeen(), setBanned() and bannedNames() keep the operator's view", async (store) => {
    const sam = (await store.createUser("sam", contractUser(1), 5))!;
    await store.createUser("erik", contractUser(2), 6);
    await store.recordSeen(sam, 100);
    assert.equal(await store.setBanned("erik", 200), true);
    assert.equal(await store.setBanned("Erik", 300), false, "names match exactly");
    assert.equal(await store.setBanned("nobody", 300), false);
    assert.deepEqual(await store.listUsers(), [
      { name: "erik", registeredAt: 6, lastSeen: null, bannedAt: 200 },
      { name: "sam", registeredAt: 5, lastSeen: 100, bannedAt: null },
    ]);
    assert.deepEqual(await store.bannedNames(), ["erik"]);
    assert.equal(await store.setBanned("erik", null), true);
    assert.deepEqual(await store.bannedNames(), []);
  });

  test("historyPage() gives public messages and one's own private ones, oldest first", async (store) => {
    const sam = (await store.createUser("sam", contractUser(1), 0))!;
    const erik = (await store.createUser("erik", contractUser(2), 0))!;
    const eve = (await store.createUser("eve", contractUser(3), 0))!;
    await store.appendMessages([
      message(sam, null, "public 1"),
      message(erik, sam, "erik to sam"),
      message(erik, eve, "erik to eve"),
    ]);
    await store.appendMessages([message(sam, erik, "sam to erik")]);
    await store.appendMessages([message(eve, null, "public 2")]);
    const upTo = await store.lastMessageId();
    const bodies = async (user: StoredUser) => {
      const seen: string[] = [];
      let after = 0;
      for (;;) {
        const page = await store.historyPage(user, after, upTo, 2);
        seen.push(...page.map((m) => m.body));
        if (page.length < 2) return seen;
        after = page[page.length - 1].id;
      }
    };
    assert.deepEqual(await bodies(sam), ["public 1", "erik to sam", "sam to erik", "public 2"]);
    assert.deepEqual(await bodies(eve), ["public 1", "erik to eve", "public 2"]);
    await store.appendMessages([message(sam, null, "after the snapshot")]);
    assert.deepEqual((await store.historyPage(eve, 0, upTo, 100)).map((m) => m.body), [
      "public 1",
      "erik to eve",
      "public 2",
    ]);
  });

  test("names and bodies are bound as parameters, never spliced into SQL", async (store) => {
    const evil = "x'); DROP TABLE users; --";
    const sam = (await store.createUser("sam", contractUser(1), 0))!;
    await store.appendMessages([message(sam, null, evil)]);
    assert.equal(await store.findUser("sam'); DROP TABLE users; --"), null);
    assert.equal(await store.findUser("' OR '1'='1"), null);
    assert.equal((await store.historyPage(sam, 0, 10, 10))[0].body, evil);
    assert.ok(await store.createUser("erik", contractUser(2), 0), "users still there");
    assert.ok(await store.findUser("sam"));
  });

  test("a roster gives each name one session, lists names sorted, and frees on release", async (store) => {
    const roster = await store.openRoster("node-a");
    try {
      assert.equal(await roster.claim("sam"), true);
      assert.equal(await roster.claim("sam"), false);
      assert.equal(await roster.claim("erik"), true);
      assert.deepEqual(await roster.names(), ["erik", "sam"]);
      await roster.release("sam");
      assert.deepEqual(await roster.names(), ["erik"]);
      assert.equal(await roster.claim("sam"), true);
      assert.equal(await roster.heartbeat(), true);
      assert.deepEqual(await roster.reapDeparted(), []);
    } finally {
      await roster.close();
    }
  });

  test(
    "two nodes appending at once get one gap-free order that both read back",
    async (store, running) => {
      if (running.openPeer === undefined) return; // one process per database
      const peer = await running.openPeer(store);
      try {
        const sam = (await store.createUser("sam", contractUser(1), 0))!;
        const erik = (await peer.createUser("erik", contractUser(2), 0))!;
        assert.equal(await peer.createUser("Sam", contractUser(3), 0), null);
        const rounds = 20;
        const results = await Promise.all(
          Array.from({ length: rounds }, (_, i) => [
            store.appendMessages([message(sam, null, `a${i}`), message(sam, null, `a${i}'`)]),
            peer.appendMessages([message(erik, null, `b${i}`)]),
          ]).flat(),
        );
        const ids = results.flat().map((m) => m.id).sort((a, b) => a - b);
        assert.deepEqual(ids, Array.from({ length: rounds * 3 }, (_, i) => i + 1));
        for (const batch of results) {
          for (let i = 1; i < batch.length; i++) assert.equal(batch[i].id, batch[i - 1].id + 1);
        }
        assert.deepEqual(await store.messagesAfter(0, 1000), await peer.messagesAfter(0, 1000));
      } finally {
        await peer.close();
      }
    },
  );
}
