import assert from "node:assert/strict";
import nodeCrypto from "node:crypto";
import { join } from "node:path";
import { HistoryStore, type StoredHistory } from "./history_store.ts";

function credentials() {
  const pem = (type: "ed25519" | "x25519") =>
    nodeCrypto.generateKeyPairSync(type as "ed25519").privateKey.export({
      format: "pem",
      type: "pkcs8",
    }) as string;
  return { certificate: "", key: pem("ed25519"), encryptionKey: pem("x25519") };
}

const HISTORY: StoredHistory = {
  earlier: 7,
  messages: [
    { id: 8, type: "public", from: "erik", time: 1, signed: 2, mid: "m1", text: "hello all" },
    {
      id: 12,
      type: "private",
      from: "erik",
      to: "sam",
      time: 3,
      signed: 4,
      mid: "m2",
      text: "meet at the old mill",
    },
  ],
};

async function withFolder(test: (folder: string) => Promise<void>): Promise<void> {
  const folder = await Deno.makeTempDir();
  try {
    await test(join(folder, "sam"));
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("HistoryStore keeps what it saved, encrypted: no message text in the file", async () => {
  await withFolder(async (folder) => {
    await Deno.mkdir(folder);
    const keys = credentials();
    const store = new HistoryStore(folder, "sam", keys);
    assert.equal(await store.load(), null);
    await store.save(HISTORY);
    assert.deepEqual(await new HistoryStore(folder, "sam", keys).load(), HISTORY);
    const bytes = await Deno.readFile(join(folder, "history"));
    const text = new TextDecoder("latin1").decode(bytes);
    for (const needle of ["hello all", "old mill", "erik"]) assert.ok(!text.includes(needle));
    assert.equal((await Deno.stat(join(folder, "history"))).mode! & 0o777, 0o600);
  });
});

Deno.test("HistoryStore discards a file that is damaged, altered or not this user's", async () => {
  await withFolder(async (folder) => {
    await Deno.mkdir(folder);
    const keys = credentials();
    const path = join(folder, "history");
    const store = new HistoryStore(folder, "sam", keys);
    await store.save(HISTORY);
    const good = await Deno.readFile(path);
    const damaged: Array<[string, Uint8Array]> = [
      ["empty", new Uint8Array()],
      ["truncated", good.subarray(0, good.length - 5)],
      ["cut to its header", good.subarray(0, 20)],
      ["one bit flipped", good.map((b, i) => i === 40 ? b ^ 1 : b)],
      ["garbage", nodeCrypto.randomBytes(good.length)],
    ];
    for (const [what, bytes] of damaged) {
      await Deno.writeFile(path, bytes);
      assert.equal(await store.load(), null, what);
      await assert.rejects(Deno.stat(path), Deno.errors.NotFound, `${what}: not removed`);
    }
    // Another user's keys, or the same file under another name: not this store.
    await Deno.writeFile(path, good);
    assert.equal(await new HistoryStore(folder, "sam", credentials()).load(), null);
    await Deno.writeFile(path, good);
    assert.equal(await new HistoryStore(folder, "erik", keys).load(), null);
    await Deno.writeFile(path, good);
    assert.deepEqual(await store.load(), HISTORY);
  });
});
