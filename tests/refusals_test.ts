/**
 * Every forged identity is refused by the server itself, not only by our
 * client: a raw TLS client (or openssl s_client, for what Deno will not send)
 * presents each certificate and must get `invalid_credentials`, and the
 * server must log the reason. Each forgery differs from an accepted
 * certificate in the one property under test, on the registered key, and
 * the genuine twin is accepted, so the test can tell the checks apart.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createAuthority, randomSerialNumber } from "../pki/certificates.ts";
import {
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  SIGNING_ALGORITHM,
} from "../pki/keys.ts";
import { x509 } from "../pki/x509.ts";
import { generateEncryptionKeyPair } from "../e2e/keys.ts";
import { toBase64Url } from "../protocol/base64url.ts";
import { loadAuthority } from "../pki/authority.ts";
import { dataPaths } from "../pki/paths.ts";
import { chatSession, makeDataDir, ServerProcess } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";
import { runWithTimeout } from "../testing/child.ts";

type Credentials = { certificate: string; key: string };

/**
 * A certificate signed directly (by our CA unless `issuer` is given), for
 * `publicKey` (whose private half is `key`), with the given dates and extensions.
 */
async function caSigned(
  dir: string,
  name: string,
  options: {
    notBefore: Date;
    notAfter: Date;
    extensions: x509.Extension[];
    publicKey: x509.PublicKey;
    key: string;
    issuer?: { certificate: x509.X509Certificate; privateKey: CryptoKey };
  },
): Promise<Credentials> {
  const ca = options.issuer ?? await loadAuthority(dataPaths(dir));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${name}`,
    issuer: ca.certificate.subject,
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: options.publicKey,
    signingKey: ca.privateKey,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    extensions: options.extensions,
  });
  return { certificate: certificate.toString("pem"), key: options.key };
}

const DAY = 24 * 60 * 60 * 1000;
const CLIENT_EXTENSIONS = () => [
  new x509.BasicConstraintsExtension(false, undefined, true),
  new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
];

/** A fresh Ed25519 key: its public half for a certificate, its private half as PEM. */
async function freshKey(): Promise<{ publicKey: x509.PublicKey; key: string }> {
  const keys = await generateKeyPair();
  return {
    publicKey: await x509.PublicKey.create(keys.publicKey),
    key: await exportPrivateKeyPem(keys.privateKey),
  };
}

/**
 * Each forgery differs from a certificate the server would accept in one
 * property only, so the check named is the one that decides: the login
 * forgeries carry sam's own registered key (key pinning would let them in),
 * the registration forgeries name a free user on a fresh key (nothing but the
 * certificate checks stands in the way). The TLS layer (rustls under
 * node:tls) refuses each first and the log says so; pki/ repeats every check
 * on its own (pki/certificates_test.ts, server/session_test.ts), so removing
 * either layer fails a test.
 */
const BY_TLS = /: certificate not verified by TLS \([A-Z_]+\)$/;

Deno.test("the server refuses every forged identity and logs the reason for each", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    await chatSession(dir, server.port, ["/register erik"]);
    const caPem = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
    const other = await createAuthority();
    const otherCa = { certificate: other.certificate, privateKey: other.keys.privateKey };
    // Another CA under our CA's very name: only the signature tells them apart.
    const ours = await loadAuthority(dataPaths(dir));
    const twinKeys = await generateKeyPair();
    const twin = {
      certificate: await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerialNumber(),
        name: ours.certificate.subject,
        keys: twinKeys,
        signingAlgorithm: SIGNING_ALGORITHM,
        extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
      }),
      privateKey: twinKeys.privateKey,
    };
    const genuine: Credentials = {
      certificate: await Deno.readTextFile(join(dir, "clientkeys", "sam", "cert.pem")),
      key: await Deno.readTextFile(join(dir, "clientkeys", "sam", "key.pem")),
    };
    const samKey = {
      publicKey: new x509.X509Certificate(genuine.certificate).publicKey,
      key: genuine.key,
    };
    const now = Date.now();
    const valid = { notBefore: new Date(now - DAY), notAfter: new Date(now + DAY) };

    type Forgery = (name: string, key: { publicKey: x509.PublicKey; key: string }) => Promise<
      Credentials | undefined
    >;
    const forgeries: Array<[string, Forgery, RegExp]> = [
      ["no certificate", () => Promise.resolve(undefined), /: no client certificate$/],
      [
        "a self-signed certificate",
        (name, key) => selfSigned(name, key),
        BY_TLS,
      ],
      [
        "another CA's certificate",
        (name, key) =>
          caSigned(dir, name, {
            ...valid,
            ...key,
            extensions: CLIENT_EXTENSIONS(),
            issuer: otherCa,
          }),
        BY_TLS,
      ],
      [
        "a certificate from a CA that copies our CA's name",
        (name, key) =>
          caSigned(dir, name, { ...valid, ...key, extensions: CLIENT_EXTENSIONS(), issuer: twin }),
        BY_TLS,
      ],
      [
        "an expired certificate",
        (name, key) =>
          caSigned(dir, name, {
            notBefore: new Date(now - 30 * DAY),
            notAfter: new Date(now - DAY),
            ...key,
            extensions: CLIENT_EXTENSIONS(),
          }),
        BY_TLS,
      ],
      [
        "a not yet valid certificate",
        (name, key) =>
          caSigned(dir, name, {
            notBefore: new Date(now + DAY),
            notAfter: new Date(now + 30 * DAY),
            ...key,
            extensions: CLIENT_EXTENSIONS(),
          }),
        BY_TLS,
      ],
      [
        "a CA certificate for client authentication",
        (name, key) =>
          caSigned(dir, name, {
            ...valid,
            ...key,
            extensions: [
              new x509.BasicConstraintsExtension(true, 0, true),
              new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
            ],
          }),
        BY_TLS,
      ],
      [
        "a certificate not for client authentication",
        (name, key) =>
          caSigned(dir, name, {
            ...valid,
            ...key,
            extensions: [
              new x509.BasicConstraintsExtension(false, undefined, true),
              new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            ],
          }),
        BY_TLS,
      ],
    ];

    for (const [what, forge, reason] of forgeries) {
      // Login as sam with sam's own key: only the certificate's flaw stands in the way.
      const login = await RawClient.connect(server.port, caPem, await forge("sam", samKey));
      try {
        await login.hello();
        const reply = await login.request({ type: "login", id: 1, name: "sam" });
        assert.deepEqual(reply.at(-1), { type: "error", re: 1, code: "invalid_credentials" }, what);
        const post = await login.request({
          type: "public",
          id: 2,
          text: "I am sam",
          signature: "{}",
        });
        assert.deepEqual(post.at(-1), { type: "error", re: 2, code: "not_available" }, what);
        const logged = await server.log.waitFor(refusal("login", "sam", login.localPort));
        assert.match(logged, reason, `${what}, login`);
      } finally {
        login.close();
      }
      // Register a free name on a fresh key: no pinned key to fall back on.
      const register = await RawClient.connect(
        server.port,
        caPem,
        await forge("tom", await freshKey()),
      );
      try {
        await register.hello();
        const reply = await register.request({
          type: "register",
          id: 1,
          name: "tom",
          encryption_key: toBase64Url(generateEncryptionKeyPair().publicKey),
          binding: "A".repeat(86),
        });
        assert.deepEqual(reply.at(-1), { type: "error", re: 1, code: "invalid_credentials" }, what);
        const logged = await server.log.waitFor(
          refusal("registration", "tom", register.localPort),
        );
        assert.match(logged, reason, `${what}, registration`);
      } finally {
        register.close();
      }
    }

    // Our CA's certificate for sam on another key: the pinned key decides.
    const otherKey = await RawClient.connect(
      server.port,
      caPem,
      await caSigned(dir, "sam", {
        ...valid,
        ...(await freshKey()),
        extensions: CLIENT_EXTENSIONS(),
      }),
    );
    try {
      await otherKey.hello();
      const reply = await otherKey.request({ type: "login", id: 1, name: "sam" });
      assert.deepEqual(reply.at(-1), { type: "error", re: 1, code: "invalid_credentials" });
      const logged = await server.log.waitFor(refusal("login", "sam", otherKey.localPort));
      assert.match(logged, /: certificate key is not the registered key$/);
    } finally {
      otherKey.close();
    }

    // sam's genuine certificate does not make its holder erik, nor register tom.
    const asErik = await RawClient.connect(server.port, caPem, genuine);
    const erikPort = asErik.localPort;
    try {
      await asErik.hello();
      const login = await asErik.request({ type: "login", id: 1, name: "erik" });
      assert.deepEqual(login.at(-1), { type: "error", re: 1, code: "invalid_credentials" });
      assert.match(
        await server.log.waitFor(refusal("login", "erik", asErik.localPort)),
        /: certificate names another user$/,
      );
      // ...but does make them sam: the refusals above were not for lack of a working path.
      const genuineLogin = await asErik.request({ type: "login", id: 2, name: "sam" });
      assert.deepEqual(genuineLogin[0], { type: "ok", re: 2, status: "authenticated" });
      // A message the server did take, store and echo: its text is still not in the log.
      const posted = await asErik.request({
        type: "public",
        id: 3,
        text: "contents stay out of the log",
        signature: "{}",
      });
      assert.equal(posted.at(-1)?.type, "public");
    } finally {
      asErik.close();
    }
    // Once the server logged the connection's end, it has logged all it will about the post.
    await server.log.waitFor(new RegExp(`disconnected 127\\.0\\.0\\.1:${erikPort}: `));
    assert.ok(
      !server.log.text().includes("contents stay out"),
      "message contents are never logged",
    );
    assert.ok(!server.log.text().includes("I am sam"), "nor those of refused posts");
  } finally {
    await server.stop();
  }
});

/** The server's log line for a refused login or registration from our port. */
function refusal(what: "login" | "registration", name: string, port: number): RegExp {
  return new RegExp(`refused ${what} of "${name}" from 127\\.0\\.0\\.1:${port}: `);
}

/** A self-signed client certificate for `name` on `key`. */
async function selfSigned(
  name: string,
  key: { publicKey: x509.PublicKey; key: string },
): Promise<Credentials> {
  const privateKey = await importPrivateKeyPem(key.key);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${name}`,
    issuer: `CN=${name}`,
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: key.publicKey,
    signingKey: privateKey,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    extensions: CLIENT_EXTENSIONS(),
  });
  return { certificate: certificate.toString("pem"), key: key.key };
}

Deno.test("the server answers a frame before hello, or an unknown version, by closing", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    const caPem = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
    const early = await RawClient.connect(server.port, caPem);
    await early.send({ type: "users", id: 1 });
    assert.deepEqual(await early.next(), { type: "error", code: "malformed" });
    assert.equal(await early.next(), null);
    early.close();

    // A future version, and version 1, whose envelopes were JSON: a client of
    // either would misread what this server relays (protocol/README.md).
    for (const versions of [[99], [1]]) {
      const other = await RawClient.connect(server.port, caPem);
      await other.send({ type: "hello", versions });
      assert.deepEqual(await other.next(), { type: "error", code: "unsupported_version" });
      assert.equal(await other.next(), null);
      other.close();
    }

    // Requests sent just before the client ends its side are still answered.
    const hasty = await RawClient.connect(server.port, caPem);
    await hasty.send(
      '{"type":"hello","versions":[2]}\n{"type":"users","id":1}\n{"type":"login","id":2,"name":"x"}\n',
    );
    await hasty.closeWrite();
    assert.deepEqual(await hasty.next(), { type: "hello", version: 2 });
    assert.deepEqual(await hasty.next(), { type: "error", re: 1, code: "not_available" });
    assert.deepEqual(await hasty.next(), { type: "error", re: 2, code: "invalid_credentials" });
    assert.equal(await hasty.next(), null);
    hasty.close();

    const garbage = await RawClient.connect(server.port, caPem);
    await garbage.hello();
    await garbage.send("this is not json\n");
    assert.deepEqual(await garbage.next(), { type: "error", code: "malformed" });
    assert.equal(await garbage.next(), null);
    garbage.close();
  } finally {
    await server.stop();
  }
});

/** Runs openssl; these tests need it to make what our own code refuses to make. */
async function openssl(dir: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await runWithTimeout(
    new Deno.Command("openssl", { args, cwd: dir, stdout: "piped", stderr: "piped" }),
  );
  if (code !== 0) throw new Error(`openssl ${args[0]}: ${stderr}`);
}

const hasOpenssl = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"] }).outputSync().code === 0;
  } catch {
    return false;
  }
})();

/**
 * Logs in as `name` through `openssl s_client`, which presents any
 * certificate without judging it (Deno's own client refuses to send a v1
 * one), and returns the server's frames, or null when there were none.
 */
async function opensslLogin(
  work: string,
  port: number,
  files: { certificate: string; key: string; ca: string },
  name: string,
): Promise<{ frames: string[]; stderr: string } | null> {
  const command = new Deno.Command("openssl", {
    args: [
      "s_client",
      "-quiet",
      "-connect",
      `127.0.0.1:${port}`,
      "-cert",
      files.certificate,
      "-key",
      files.key,
      "-CAfile",
      files.ca,
      "-verify_return_error",
    ],
    cwd: work,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  // Without a reply the exit frame still ends the connection, so the run ends.
  const input = [
    JSON.stringify({ type: "hello", versions: [2] }),
    JSON.stringify({ type: "login", id: 1, name }),
    JSON.stringify({ type: "exit" }),
  ].join("\n") + "\n";
  const { stdout, stderr } = await runWithTimeout(command, input, undefined, "openssl s_client");
  const frames = stdout.split("\n").filter((line) => line.startsWith("{"));
  return frames.length === 0 ? null : { frames, stderr };
}

Deno.test({
  name: "X.509 v1 certificates on the registered key are refused, CA-signed or self-signed",
  ignore: !hasOpenssl,
  async fn() {
    const dir = await makeDataDir();
    const server = await ServerProcess.start(dir);
    const work = await Deno.makeTempDir({ prefix: "chat-v1-" });
    try {
      await chatSession(dir, server.port, ["/register sam"]);
      // sam's own identity key (the first PEM block): key pinning would let it in.
      const samKeys = await Deno.readTextFile(join(dir, "clientkeys", "sam", "key.pem"));
      const identityKey = samKeys.slice(0, samKeys.indexOf("-----END PRIVATE KEY-----") + 25);
      await Deno.writeTextFile(join(work, "sam.key"), identityKey + "\n");
      await openssl(work, "req", "-new", "-key", "sam.key", "-subj", "/CN=sam", "-out", "v1.csr");
      // Without -extfile, openssl x509 -req issues version 1 certificates.
      const ca = ["-CA", join(dir, "ttpkeys", "ca.crt"), "-CAkey", join(dir, "ttpkeys", "ca.key")];
      await openssl(work, "x509", "-req", "-in", "v1.csr", ...ca, "-days", "30", "-out", "ca.crt");
      await openssl(
        work,
        "x509",
        "-req",
        "-in",
        "v1.csr",
        "-signkey",
        "sam.key",
        "-out",
        "self.crt",
      );
      // The same request made into v3 (with extensions) is accepted: the version decides.
      await Deno.writeTextFile(
        join(work, "v3.ext"),
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n",
      );
      await openssl(
        work,
        ...["x509", "-req", "-in", "v1.csr", ...ca, "-days", "30", "-extfile", "v3.ext"],
        ...["-out", "v3.crt"],
      );
      for (const file of ["ca.crt", "self.crt", "v3.crt"]) {
        const text = await runWithTimeout(
          new Deno.Command("openssl", {
            args: ["x509", "-in", file, "-noout", "-text"],
            cwd: work,
            stdout: "piped",
            stderr: "piped",
          }),
        );
        const version = file === "v3.crt" ? "Version: 3 (0x2)" : "Version: 1 (0x0)";
        assert.ok(text.stdout.includes(version), `${file} is made as ${version}`);
      }
      const caFile = join(dir, "clientkeys", "ca.crt");
      const accepted = await opensslLogin(work, server.port, {
        certificate: "v3.crt",
        key: "sam.key",
        ca: caFile,
      }, "sam");
      assert.deepEqual(accepted?.frames.slice(0, 2), [
        '{"type":"hello","version":2}',
        '{"type":"ok","re":1,"status":"authenticated"}',
      ], "the v3 twin logs in: s_client and the key work");

      for (const certificate of ["ca.crt", "self.crt"]) {
        const from = server.log.lines.length;
        const outcome = await opensslLogin(work, server.port, {
          certificate,
          key: "sam.key",
          ca: caFile,
        }, "sam");
        assert.deepEqual(outcome?.frames.slice(0, 2), [
          '{"type":"hello","version":2}',
          '{"type":"error","re":1,"code":"invalid_credentials"}',
        ], certificate);
        const logged = await server.log.waitFor(/refused login of "sam" from /, from);
        assert.match(logged, BY_TLS, certificate);
      }
    } finally {
      await server.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
