import nodeCrypto from "node:crypto";
import { toBase64Url } from "../protocol/base64url.ts";
import assert from "node:assert/strict";
import { SqliteStore } from "../db/sqlite/store.ts";
import {
  type Authority,
  createAuthority,
  createRequest,
  signRequest,
} from "../pki/certificates.ts";
import { generateKeyPair, SIGNING_ALGORITHM } from "../pki/keys.ts";
import { x509 } from "../pki/x509.ts";
import { decodeServerFrame, encodeFrame } from "../protocol/frames.ts";
import type { ClientFrame, ServerFrame } from "../protocol/frames.ts";
import { Bans } from "./bans.ts";
import { Revocations } from "./revocations.ts";
import { Admission } from "./admission.ts";
import { StorageQuotas } from "./quotas.ts";
import { CertificateCache } from "./certificate_cache.ts";
import { LocalBus } from "./bus/local.ts";
import { Committer } from "./committer.ts";
import { Delivery, type Echo } from "./delivery.ts";
import { Hub } from "./hub.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { EventLog } from "./log.ts";
import {
  type Connection,
  HISTORY_PAGE_ROWS,
  MAX_UNPOSTED,
  type ServerContext,
  Session,
} from "./session.ts";
import { generator, inputs, mutateBytes, mutateFields, SEED } from "../testing/fuzz.ts";

/** A register request; the server stores the encryption key and binding as given. */
/** A real X25519 key: the server refuses one no peer could use. */
const ENCRYPTION_KEY = toBase64Url(
  new Uint8Array(
    nodeCrypto.generateKeyPairSync("x25519").publicKey.export({ format: "der", type: "spki" }),
  ),
);

function register(id: number, name: string): ClientFrame {
  return {
    type: "register",
    id,
    name,
    encryption_key: ENCRYPTION_KEY,
    binding: "B".repeat(85) + "A",
  };
}

class FakeConnection implements Connection {
  readonly sent: ServerFrame[] = [];
  readonly ip = "127.0.0.1";
  closed = false;
  holdReading?: (held: boolean) => void;
  loggedIn(): void {}
  constructor(
    readonly verifiedCertificate: Uint8Array | null,
    readonly address = "127.0.0.1:1",
    readonly certificateProblem: string | null = null,
  ) {}
  sendLine(line: string): void {
    this.sent.push(decodeServerFrame(new TextEncoder().encode(line.trimEnd())));
  }
  sendPaced(line: string): void {
    this.sendLine(line);
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

/** A server context on an in-memory store; its certificate cache trusts `trusted` (our CA by default). */
async function setup(trusted?: x509.X509Certificate) {
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
    roster: await store.openRoster("test"),
    certificates: new CertificateCache(trusted ?? certificate),
    committer,
    delivery,
    hub,
    log: new EventLog((line) => logs.push(line)),
    limits: DEFAULT_LIMITS,
    admission: new Admission(DEFAULT_LIMITS),
    quotas: new StorageQuotas(DEFAULT_LIMITS),
    bans: new Bans(store),
    revocations: new Revocations(),
    clock: () => time++,
  };
  const certificateFor = async (name: string) => {
    const issued = await signRequest(ca, await createRequest(name, await generateKeyPair()));
    return new Uint8Array(issued.rawData);
  };
  const open = async (certificate: Uint8Array | null, ...frames: ClientFrame[]) => {
    const connection = new FakeConnection(certificate);
    const session = new Session(connection, context);
    session.receive(new TextEncoder().encode(encodeFrame({ type: "hello", versions: [2] })));
    for (const frame of frames) session.receive(new TextEncoder().encode(encodeFrame(frame)));
    await session.settled();
    return { connection, session };
  };
  return { ca, context, logs, certificateFor, open };
}

Deno.test("Session registers from a verified certificate and refuses another key for that name", async () => {
  const { certificateFor, open, logs } = await setup();
  const samCertificate = await certificateFor("sam");
  const sam = await open(samCertificate, register(1, "sam"));
  assert.deepEqual(sam.connection.sent, [
    { type: "hello", version: 2 },
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
  const { context, certificateFor, open, logs } = await setup();
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
  assert.match(
    logs.at(-1)!,
    /refused registration of "sam" from 127\.0\.0\.1:1: no client certificate$/,
  );
  // A certificate for another name does not register this one.
  const other = await open(await certificateFor("erik"), register(1, "sam"));
  assert.deepEqual(other.connection.sent.at(-1), {
    type: "error",
    re: 1,
    code: "invalid_credentials",
  });
  assert.match(logs.at(-1)!, /refused registration of "sam" .*: certificate names another user$/);
  assert.equal(await context.store.findUser("sam"), null);
});

const DAY = 24 * 60 * 60 * 1000;

/**
 * pki/ judges each certificate on its own, even one the TLS layer passed:
 * each case differs from a good certificate in one property, on a fresh name
 * (registration) and on sam's registered key (login), so only the check
 * named can refuse it, and the log must give its reason.
 */
Deno.test("Session refuses what pki/ refuses, with the reason logged, though TLS passed it", async () => {
  const { ca, context, logs, open } = await setup();
  const samKeys = await generateKeyPair();
  const issue = async (
    name: string,
    keys: CryptoKeyPair,
    options: Partial<
      { notBefore: Date; notAfter: Date; ca: boolean; usage: string; signer: Authority }
    >,
  ) => {
    const signer = options.signer ?? ca;
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: "01",
      subject: `CN=${name}`,
      issuer: signer.certificate.subject,
      notBefore: options.notBefore ?? new Date(Date.now() - DAY),
      notAfter: options.notAfter ?? new Date(Date.now() + DAY),
      signingAlgorithm: SIGNING_ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: signer.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
        new x509.ExtendedKeyUsageExtension([options.usage ?? x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
    return new Uint8Array(certificate.rawData);
  };
  const sam = await open(await issue("sam", samKeys, {}), register(1, "sam"));
  assert.deepEqual(sam.connection.sent[1], { type: "ok", re: 1, status: "registered" });
  sam.session.end();
  const selfSigned = async (name: string): Promise<Authority> => {
    const keys = await generateKeyPair();
    return {
      certificate: await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "02",
        name,
        keys,
        signingAlgorithm: SIGNING_ALGORITHM,
      }),
      privateKey: keys.privateKey,
    };
  };
  const other = await selfSigned("CN=another CA");
  const twin = await selfSigned(ca.certificate.subject);
  const cases: Array<[string, Parameters<typeof issue>[2], string]> = [
    [
      "expired",
      { notAfter: new Date(Date.now() - DAY) },
      "certificate is expired or not yet valid",
    ],
    [
      "not yet valid",
      { notBefore: new Date(Date.now() + DAY) },
      "certificate is expired or not yet valid",
    ],
    ["a CA", { ca: true }, "certificate is a CA certificate"],
    [
      "for servers",
      { usage: x509.ExtendedKeyUsage.serverAuth },
      "certificate is not for client authentication",
    ],
    ["another CA's", { signer: other }, "certificate is not issued by this CA"],
    ["from a CA with our CA's name", { signer: twin }, "certificate is not signed by this CA"],
  ];
  for (const [what, options, reason] of cases) {
    const registration = await open(
      await issue("tom", await generateKeyPair(), options),
      register(1, "tom"),
    );
    assert.deepEqual(registration.connection.sent.at(-1), {
      type: "error",
      re: 1,
      code: "invalid_credentials",
    }, what);
    assert.equal(
      logs.at(-1)!.replace(/^\S+ /, ""),
      `refused registration of "tom" from 127.0.0.1:1: ${reason}`,
      what,
    );
    const login = await open(await issue("sam", samKeys, options), {
      type: "login",
      id: 2,
      name: "sam",
    });
    assert.deepEqual(login.connection.sent.at(-1), {
      type: "error",
      re: 2,
      code: "invalid_credentials",
    }, what);
    assert.equal(
      logs.at(-1)!.replace(/^\S+ /, ""),
      `refused login of "sam" from 127.0.0.1:1: ${reason}`,
      what,
    );
  }
  assert.equal(await context.store.findUser("tom"), null);
  // The same key with a good certificate logs in: the cases above were refused for their flaw.
  const good = await open(await issue("sam", samKeys, {}), { type: "login", id: 3, name: "sam" });
  assert.deepEqual(good.connection.sent[1], { type: "ok", re: 3, status: "authenticated" });
});

Deno.test("Session refuses an X.509 v1 certificate from the very CA it trusts", async () => {
  const read = (file: string) =>
    Deno.readTextFile(new URL(`../pki/testdata/${file}`, import.meta.url));
  const v1Ca = new x509.X509Certificate(await read("v1_ca.crt"));
  const { logs, open } = await setup(v1Ca);
  const v1 = new x509.X509Certificate(await read("v1_client.crt"));
  const sam = await open(new Uint8Array(v1.rawData), register(1, "sam"));
  assert.deepEqual(sam.connection.sent.at(-1), {
    type: "error",
    re: 1,
    code: "invalid_credentials",
  });
  assert.equal(
    logs.at(-1)!.replace(/^\S+ /, ""),
    'refused registration of "sam" from 127.0.0.1:1: certificate is not X.509 v3',
  );
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

Deno.test("frames are answered strictly in order, whether they wait (lookups, replies) or not", async () => {
  const { certificateFor, open } = await setup();
  const sam = await open(await certificateFor("sam"), register(1, "sam"));
  const erik = await open(await certificateFor("erik"), register(1, "erik"));
  const eve = await open(await certificateFor("eve"), register(1, "eve"));
  for (const c of [sam, erik, eve]) c.connection.sent.length = 0;
  const frames: ClientFrame[] = [
    { type: "private", id: 10, to: "erik", payload: "a" }, // a lookup: waits
    { type: "private", id: 11, to: "erik", payload: "b" }, // the same recipient: no lookup
    { type: "public", id: 12, text: "c", signature: "s" },
    { type: "ping", id: 13 }, // a reply: after the echoes before it
    { type: "private", id: 14, to: "eve", payload: "d" }, // another recipient: a lookup again
    { type: "public", id: 15, text: "e", signature: "s" },
    { type: "private", id: 16, to: "nobody", payload: "f" },
    { type: "users", id: 17 },
  ];
  for (const frame of frames) sam.session.receive(new TextEncoder().encode(encodeFrame(frame)));
  await sam.session.settled();
  assert.deepEqual(sam.connection.sent.map((f) => ["re" in f ? f.re : undefined, f.type]), [
    [10, "private"],
    [11, "private"],
    [12, "public"],
    [13, "pong"],
    [14, "private"],
    [15, "public"],
    [16, "error"],
    [17, "users"],
  ]);
  assert.deepEqual(erik.connection.sent.map((f) => f.type), [
    "private",
    "private",
    "public",
    "public",
  ]);
  assert.deepEqual(eve.connection.sent.map((f) => f.type), ["public", "private", "public"]);
});

Deno.test("a burst stops reading at MAX_UNPOSTED uncommitted messages and resumes as they commit", async () => {
  const { certificateFor, open } = await setup();
  const sam = await open(await certificateFor("sam"), register(1, "sam"));
  const holds: boolean[] = [];
  sam.connection.holdReading = (held: boolean) => holds.push(held);
  sam.connection.sent.length = 0;
  const count = MAX_UNPOSTED + 10;
  for (let id = 10; id < 10 + count; id++) {
    const frame: ClientFrame = { type: "public", id, text: `m${id}`, signature: "s" };
    sam.session.receive(new TextEncoder().encode(encodeFrame(frame)));
  }
  assert.deepEqual(holds, [true], "held once the burst reached the limit, before any commit");
  await sam.session.settled();
  assert.deepEqual(holds, [true, false]);
  assert.equal(sam.connection.sent.length, count, "every message echoed");
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
  late.receive(new TextEncoder().encode(encodeFrame({ type: "hello", versions: [2] })));
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

Deno.test(`fuzz seed ${SEED}: requests mutated inside get valid replies and make no other identity`, async () => {
  const { context, certificateFor, open } = await setup();
  const random = generator(SEED ^ 0x5e55);
  const samCertificate = await certificateFor("sam");
  const sam = await open(samCertificate, register(1, "sam"));
  sam.session.end();
  const mallory = await certificateFor("mallory");
  (await open(mallory, register(1, "mallory"))).session.end();
  const created: string[] = [];
  const createUser = context.store.createUser.bind(context.store);
  context.store.createUser = async (name, ...rest) => {
    const user = await createUser(name, ...rest);
    if (user !== null) created.push(name);
    return user;
  };
  const valid: ClientFrame[] = [
    { type: "hello", versions: [2] },
    register(1, "mallory"),
    register(2, "sam"),
    { type: "login", id: 3, name: "mallory" },
    { type: "login", id: 4, name: "sam" },
    { type: "users", id: 5 },
    { type: "keys", id: 6, name: "sam" },
    { type: "ping", id: 7 },
    { type: "public", id: 8, text: "hi", signature: "{}" },
    { type: "private", id: 9, to: "sam", payload: "{}" },
  ];
  const encoder = new TextEncoder();
  const replies = new Map<string, number>();
  let sessions = 0;
  const n = inputs(3_000);
  for (let i = 0; i < n;) {
    const connection = new FakeConnection(mallory);
    // Each session from its own address, so the login budget per address does not end the run.
    (connection as { ip: string }).ip = `192.0.2.${(sessions++ % 250) + 1}`;
    const session = new Session(connection, context);
    session.receive(encoder.encode(encodeFrame({ type: "hello", versions: [2] })));
    // Half the sessions as a member, where most requests are served.
    const ids = new Set<number>([1]);
    if (random.int(2) === 0) {
      session.receive(encoder.encode(encodeFrame({ type: "login", id: 1, name: "mallory" })));
    }
    // Until the session refuses to go on (a malformed frame closes it).
    for (let j = 0; j < 20 && i < n && !connection.closed; j++, i++) {
      const frame = JSON.parse(encodeFrame(random.pick(valid)));
      const dice = random.int(10);
      const input = dice < 4
        ? encoder.encode(JSON.stringify(frame))
        : dice < 9
        ? encoder.encode(JSON.stringify(mutateFields(random, frame)))
        : mutateBytes(random, encoder.encode(JSON.stringify(frame)));
      try {
        const id = JSON.parse(new TextDecoder().decode(input)).id;
        if (typeof id === "number") ids.add(id);
      } catch { /* not JSON */ }
      session.receive(input);
      await session.settled();
    }
    await session.settled();
    session.end();
    // FakeConnection decoded every reply as a server frame; each answers a request sent.
    for (const reply of connection.sent) {
      const kind = reply.type === "error" ? `error ${reply.code}` : reply.type;
      replies.set(kind, (replies.get(kind) ?? 0) + 1);
      if ("re" in reply && reply.re !== undefined && reply.type !== "public") {
        assert.ok(ids.has(reply.re), `seed ${SEED}: a reply to ${reply.re}, never asked`);
      }
    }
  }
  console.log(JSON.stringify([...replies]));
  // Past the decoder: requests were served, and refused by several different checks.
  for (const kind of ["pong", "users", "keys", "ok"]) assert.ok(replies.has(kind), kind);
  assert.ok([...replies.keys()].filter((k) => k.startsWith("error ")).length >= 5);
  // mallory's certificate made no one: she was registered before: no request made or took another name.
  assert.deepEqual(created, []);
  const again = await open(samCertificate, { type: "login", id: 2, name: "sam" });
  assert.deepEqual(again.connection.sent[1], { type: "ok", re: 2, status: "authenticated" });
});
