import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DatabaseError, openDatabase, schemaVersion } from "./database.ts";
import { MIGRATIONS } from "./migrations.ts";
import { ChatStore } from "./store.ts";

const key = (n: number) => new Uint8Array([n, n, n]);
const user = (publicKey: number, certificate: number) => ({
  publicKey: key(publicKey),
  certificate: key(certificate),
  encryptionKey: key(9),
  keyBinding: key(8),
});

async function tempStore(): Promise<{ store: ChatStore; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "chat-db-test-" });
  const path = join(dir, "chat.db");
  return { store: ChatStore.open(path), path };
}

Deno.test("createUser() refuses a taken name in any case, and findUser() matches exactly", async () => {
  const { store } = await tempStore();
  try {
    assert.ok(store.createUser("sam", user(1, 2), 0));
    assert.equal(store.createUser("sam", user(3, 4), 0), null);
    assert.equal(store.createUser("SAM", user(3, 4), 0), null);
    assert.equal(store.findUser("Sam"), null);
    assert.deepEqual(store.findUser("sam")?.publicKey, key(1));
  } finally {
    store.close();
  }
});

Deno.test("historyPage() gives public messages and one's own private ones, oldest first, in pages", async () => {
  const { store } = await tempStore();
  try {
    const sam = store.createUser("sam", user(1, 1), 0)!;
    const erik = store.createUser("erik", user(2, 2), 0)!;
    const eve = store.createUser("eve", user(3, 3), 0)!;
    store.appendMessage(sam, null, "public 1", null, 10);
    store.appendMessage(erik, sam, "erik to sam", null, 11);
    store.appendMessage(erik, eve, "erik to eve", null, 12);
    store.appendMessage(sam, erik, "sam to erik", null, 13);
    store.appendMessage(eve, null, "public 2", null, 14);
    const upTo = store.lastMessageId();
    const bodies = (user: typeof sam) => {
      const seen: string[] = [];
      let after = 0;
      for (;;) {
        const page = store.historyPage(user, after, upTo, 2);
        seen.push(...page.map((m) => m.body));
        if (page.length < 2) return seen;
        after = page[page.length - 1].id;
      }
    };
    assert.deepEqual(bodies(sam), ["public 1", "erik to sam", "sam to erik", "public 2"]);
    assert.deepEqual(bodies(eve), ["public 1", "erik to eve", "public 2"]);
    store.appendMessage(sam, null, "after the snapshot", null, 15);
    assert.deepEqual(store.historyPage(eve, 0, upTo, 100).map((m) => m.body), [
      "public 1",
      "erik to eve",
      "public 2",
    ]);
  } finally {
    store.close();
  }
});

Deno.test("openDatabase() migrates to the latest version and refuses a newer database", async () => {
  const { store, path } = await tempStore();
  store.close();
  const db = openDatabase(path);
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  assert.throws(() => openDatabase(path), DatabaseError);
});

Deno.test("names and bodies are bound as parameters, never spliced into SQL", async () => {
  const { store, path } = await tempStore();
  try {
    const evil = "x'); DROP TABLE users; --";
    const sam = store.createUser("sam", user(1, 1), 0)!;
    store.appendMessage(sam, null, evil, null, 1);
    assert.equal(store.findUser("sam'); DROP TABLE users; --"), null);
    assert.equal(store.historyPage(sam, 0, store.lastMessageId(), 10)[0].body, evil);
  } finally {
    store.close();
  }
  const db = new DatabaseSync(path);
  assert.equal((db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n, 1);
  db.close();
});
