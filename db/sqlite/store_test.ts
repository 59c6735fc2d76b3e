import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { contractUser, storeContract } from "../store_contract.ts";
import { DatabaseError, openDatabase, schemaVersion } from "./database.ts";
import { MIGRATIONS } from "./migrations.ts";
import { SqliteStore } from "./store.ts";

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
