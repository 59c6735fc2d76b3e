import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { contractUser, storeContract } from "../store_contract.ts";
import { DatabaseError, openDatabase, schemaVersion } from "./database.ts";
import { MIGRATIONS } from "./migrations.ts";
import { FIND_BY_CLIENT_ID_SQL, FIND_KEYS_SQL, FIND_USER_SQL, SqliteStore } from "./store.ts";
import { nameSkeleton } from "../../protocol/names.ts";

async function tempPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "chat-db-test-" });
  return join(dir, "chat.db");
}

storeContract("sqlite", {
  start: () =>
    Promise.resolve({
      open: async () => SqliteStore.open(await tempPath()),
      stop: () => Promise.resolve(),
    }),
});

Deno.test("openDatabase() migrates to the latest version and refuses a newer database", async () => {
  const path = await tempPath();
  await SqliteStore.open(path).close();
  const db = openDatabase(path);
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  assert.throws(() => openDatabase(path), DatabaseError);
});

Deno.test("an SQL-looking name leaves the users table as it was", async () => {
  const path = await tempPath();
  const store = SqliteStore.open(path);
  await store.createUser("sam", contractUser(1), 0);
  await store.findUser("sam'); DROP TABLE users; --");
  await store.close();
  const db = new DatabaseSync(path);
  assert.equal((db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n, 1);
  db.close();
});

Deno.test("a user and their keys are found by one probe of the name index, never a scan", async () => {
  const path = await tempPath();
  await SqliteStore.open(path).close();
  const db = new DatabaseSync(path);
  try {
    for (const query of [FIND_USER_SQL, FIND_KEYS_SQL]) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${query}`).all("nobody") as Array<
        { detail: string }
      >;
      const details = plan.map((step) => step.detail).join("; ");
      assert.match(details, /^SEARCH users USING INDEX \S+ \(name=\?\)$/, details);
    }
  } finally {
    db.close();
  }
});

Deno.test("a resend is found by one probe of the cid index, the only index on messages", async () => {
  const path = await tempPath();
  await SqliteStore.open(path).close();
  const db = new DatabaseSync(path);
  try {
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${FIND_BY_CLIENT_ID_SQL}`).all("x", 1) as Array<
      { detail: string }
    >;
    const details = plan.map((step) => step.detail).join("; ");
    assert.match(
      details,
      /SEARCH m USING INDEX messages_by_cid \(client_id=\? AND sender_id=\?\)/,
      details,
    );
    // Every index on messages costs each insert a page write (issue 12): the
    // table has the cid index and nothing else.
    const indexes = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL",
    ).all() as Array<{ name: string }>;
    assert.deepEqual(indexes.map((index) => index.name), ["messages_by_cid"]);
  } finally {
    db.close();
  }
});

Deno.test("migration 3 folds names as nameSkeleton() does, and keeps earlier look-alikes", async () => {
  const path = await tempPath();
  const db = new DatabaseSync(path);
  for (const migration of MIGRATIONS.slice(0, 2)) db.exec(migration);
  db.exec("PRAGMA user_version = 2");
  const names = ["alice", "aIice", "B0b", "Ol1iver", "zed_-9"];
  for (const [i, name] of names.entries()) {
    db.prepare("INSERT INTO users (name, public_key, certificate, created_at) VALUES (?, ?, ?, 0)")
      .run(name, new Uint8Array([i]), new Uint8Array([i]));
  }
  db.close();
  const store = SqliteStore.open(path);
  try {
    for (const name of names) assert.equal((await store.findUser(name))?.name, name);
  } finally {
    await store.close();
  }
  const migrated = new DatabaseSync(path);
  try {
    const rows = migrated.prepare("SELECT name, skeleton FROM users ORDER BY id").all() as Array<
      { name: string; skeleton: string }
    >;
    assert.deepEqual(
      rows.map((row) => row.skeleton),
      names.map((name, i) => nameSkeleton(name) + (name === "aIice" ? `#${i + 1}` : "")),
    );
  } finally {
    migrated.close();
  }
});
