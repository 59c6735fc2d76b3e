import assert from "node:assert/strict";
import { SqliteStore } from "../db/sqlite/store.ts";
import {
  type Authority,
  createAuthority,
  createRequest,
  signRequest,
} from "../pki/certificates.ts";
import { generateKeyPair } from "../pki/keys.ts";
import { decodeServerFrame, encodeFrame } from "../protocol/frames.ts";
import type { ClientFrame, ServerFrame } from "../protocol/frames.ts";
import { Admission } from "./admission.ts";
import { CertificateCache } from "./certificate_cache.ts";
import { LocalBus } from "./bus/local.ts";
import { Committer } from "./committer.ts";
import { Delivery, type Echo } from "./delivery.ts";
import { Hub } from "./hub.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { EventLog } from "./log.ts";
import { type Connection, HISTORY_PAGE_ROWS, type ServerContext, Session } from "./session.ts";

/** A register request; the server stores the encryption key and binding as given. */
function register(id: number, name: string): ClientFrame {
  return {
    type: "register",
    id,
    name,
    encryption_key: "A".repeat(59),
    binding: "B".repeat(85) + "A",
  };
}

class FakeConnection implements Connection {
  readonly sent: ServerFrame[] = [];
  readonly ip = "127.0.0.1";
  closed = false;
  loggedIn(): void {}
  constructor(
    readonly verifiedCertificate: Uint8Array | null,
    readonly address = "127.0.0.1:1",
    readonly certificateProblem: string | null = null,
  ) {}
  sendLine(line: string): void {
    this.sent.push(decodeServerFrame(new TextEncoder().encode(line.trimEnd())));
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

async function setup() {
  const { certificate, keys } = await createAuthority();
  const ca: Authority = { certificate, privateKey: keys.privateKey };
  const logs: string[] = [];
  let time = 1_000;
  const store = SqliteStore.open(":memory:");
  const hub = new Hub();
  const delivery = new Delivery(store, hub, 0);
  const bus = new LocalBus(delivery);
  const committer = new Committer<Echo>(store, (stored, echoes) => {
    delivery.committed(stored, echoes);
    bus.publish({ type: "messages", messages: stored });
  }, (error, echoes) => echoes.forEach((echo) => echo.done(error)));
  delivery.useCommitter(committer);
  const context: ServerContext = {
    store,
    certificates: new CertificateCache(certificate),
    committer,
    delivery,
    hub,
    log: new EventLog((line) => logs.push(line)),
    limits: DEFAULT_LIMITS,
    admission: new Admission(DEFAULT_LIMITS),
    clock: () => time++,
  };
  const certificateFor = async (name: string) => {
    const issued = await signRequest(ca, await createRequest(name, await generateKeyPair()));
    return new Uint8Array(issued.rawData);
  };
  const open = async (certificate: Uint8Array | null, ...frames: ClientFrame[]) => {
    const connection = new FakeConnection(certificate);
    const session = new Session(connection, context);
    session.receive(new TextEncoder().encode(encodeFrame({ type: "hello", versions: [1] })));
    for (const frame of frames) session.receive(new TextEncoder().encode(encodeFrame(frame)));
    await session.settled();
    return { connection, session };
  };
  return { context, logs, certificateFor, open };
}

Deno.test("Session registers from a verified certificate and refuses another key for that name", async () => {
  const { certificateFor, open, logs } = await setup();
  const samCertificate = await certificateFor("sam");
  const sam = await open(samCertificate, register(1, "sam"));
  assert.deepEqual(sam.connection.sent, [
    { type: "hello", version: 1 },
    { type: "ok", re: 1, status: "registered" },
    { type: "history_end", re: 1 },
  ]);
  sam.session.end();
  const impostor = await open(await certificateFor("sam"), { type: "login", id: 1, name: "sam" });
  assert.deepEqual(impostor.connection.sent.at(-1), {
    type: "error",
    re: 1,
    code: "invalid_credentials",
  });
  assert.match(logs.join("\n"), /refused login of "sam" .*not the registered key/);
  const again = await open(samCertificate, { type: "login", id: 2, name: "sam" });
  assert.deepEqual(again.connection.sent[1], { type: "ok", re: 2, status: "authenticated" });
});

Deno.test("Session needs hello first and never takes an identity from an unverified socket", async () => {
  const { context, certificateFor, open } = await setup();
  const connection = new FakeConnection(null);
  const session = new Session(connection, context);
  session.receive(new TextEncoder().encode(encodeFrame({ type: "users", id: 1 })));
  await session.settled();
  assert.deepEqual(connection.sent, [{ type: "error", code: "malformed" }]);
  assert.ok(connection.closed);

  // What an unauthorized TLS socket looks like: the certificate is not passed on.
  const unverified = await open(null, register(1, "sam"));
  assert.deepEqual(unverified.connection.sent.at(-1), {
    type: "error",
    re: 1,
    code: "invalid_credentials",
  });
  assert.equal(await context.store.findUser("sam"), null);
  // A certificate for another name does not register this one.
  const other = await open(await certificateFor("erik"), register(1, "sam"));
  assert.equal(other.connection.sent.at(-1)?.type, "error");
});

Deno.test("Session echoes a message after storing it and delivers it to the right members", async () => {
  const { context, certificateFor, open } = await setup();
  const sam = await open(await certificateFor("sam"), register(1, "sam"));
  const erik = await open(await certificateFor("erik"), register(1, "erik"));
  const eve = await open(await certificateFor("eve"), register(1, "eve"));
  for (const c of [sam, erik, eve]) c.connection.sent.length = 0;

  sam.session.receive(
    new TextEncoder().encode(encodeFrame({ type: "private", id: 7, to: "erik", payload: "psst" })),
  );
  sam.session.receive(
    new TextEncoder().encode(
      encodeFrame({ type: "public", id: 8, text: "hello all", signature: "s" }),
    ),
  );
  await sam.session.settled();
  const stored = await context.store.historyPage(
    (await context.store.findUser("erik"))!,
    0,
    100,
    10,
  );
  assert.deepEqual(stored.map((m) => m.body), ["psst", "hello all"]);
  assert.deepEqual(sam.connection.sent.map((f) => ["re" in f ? f.re : undefined, f.type]), [
    [7, "private"],
    [8, "public"],
  ]);
  assert.deepEqual(erik.connection.sent.map((f) => f.type), ["private", "public"]);
  assert.deepEqual(eve.connection.sent.map((f) => f.type), ["public"]);
  assert.ok(erik.connection.sent.every((f) => !("re" in f)), "only the sender's copy has re");
});

Deno.test("a message stored while history is replayed comes once, after history_end", async () => {
  const { context, certificateFor, open } = await setup();
  const sam = await open(await certificateFor("sam"), register(1, "sam"));
  const samUser = (await context.store.findUser("sam"))!;
  const old = Array.from({ length: HISTORY_PAGE_ROWS + 10 }, (_, i) => ({
    sender: samUser,
    recipient: null,
    body: `old ${i}`,
    signature: "s",
    time: i,
  }));
  // Stored and delivered the way the server does (nobody else is online to see them).
  await new Promise<void>((resolve) => {
    old.forEach((message, i) =>
      context.committer.add(message, {
        member: sam.session,
        re: i + 100,
        done: () => i === old.length - 1 && resolve(),
      })
    );
  });
  const connection = new FakeConnection(await certificateFor("late"));
  let interjected = false;
  connection.drained = () => {
    // Between two history pages, sam posts a new message.
    if (!interjected) {
      interjected = true;
      sam.session.receive(
        new TextEncoder().encode(
          encodeFrame({ type: "public", id: 9, text: "live", signature: "s" }),
        ),
      );
    }
    return sam.session.settled();
  };
  const late = new Session(connection, context);
  late.receive(new TextEncoder().encode(encodeFrame({ type: "hello", versions: [1] })));
  late.receive(new TextEncoder().encode(encodeFrame(register(1, "late"))));
  await late.settled();
  assert.ok(interjected, "the test reached a second history page");
  const texts = connection.sent.flatMap((f) =>
    f.type === "public" ? [f.text] : f.type === "history_end" ? ["<end>"] : []
  );
  assert.equal(texts.length, HISTORY_PAGE_ROWS + 10 + 2);
  assert.deepEqual(texts.slice(-2), ["<end>", "live"]);
  assert.equal(texts.filter((t) => t === "live").length, 1);
});

Deno.test("a message another node committed comes once: in the history, not again live", async () => {
  const { context, certificateFor, open } = await setup();
  const sam = await open(await certificateFor("sam"), register(1, "sam"));
  sam.connection.sent.length = 0;
  const samUser = (await context.store.findUser("sam"))!;
  // Committed elsewhere: in the database, not yet delivered on this node.
  await context.store.appendMessages([
    { sender: samUser, recipient: null, body: "from afar", signature: "s", time: 1 },
  ]);
  const late = await open(await certificateFor("late"), register(1, "late"));
  await context.delivery.catchUp();
  const texts = (c: FakeConnection) =>
    c.sent.flatMap((f) =>
      f.type === "public" ? [f.text] : f.type === "history_end" ? ["<end>"] : []
    );
  assert.deepEqual(texts(late.connection), ["from afar", "<end>"]);
  assert.deepEqual(texts(sam.connection), ["from afar"], "delivered live where it was not history");
});
