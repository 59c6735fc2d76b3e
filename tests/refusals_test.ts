/**
 * Every forged identity is refused by the server itself, not only by our
 * client: a raw TLS client presents each certificate and must get
 * `invalid_credentials`, and the server must log the refusal. A genuine
 * certificate is accepted, so the test can tell the two apart.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createAuthority,
  createRequest,
  randomSerialNumber,
  signRequest,
} from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair, SIGNING_ALGORITHM } from "../pki/keys.ts";
import { x509 } from "../pki/x509.ts";
import { generateEncryptionKeyPair } from "../e2e/keys.ts";
import { toBase64Url } from "../protocol/base64url.ts";
import { loadAuthority } from "../pki/authority.ts";
import { dataPaths } from "../pki/paths.ts";
import { chatSession, makeDataDir, ServerProcess } from "../testing/chat.ts";
import { RawClient } from "../testing/raw_client.ts";
import { runWithTimeout } from "../testing/child.ts";

type Credentials = { certificate: string; key: string };

async function credentialsFor(
  name: string,
  sign: (requestPem: string) => Promise<x509.X509Certificate>,
): Promise<Credentials> {
  const keys = await generateKeyPair();
  const certificate = await sign(await createRequest(name, keys));
  return {
    certificate: certificate.toString("pem"),
    key: await exportPrivateKeyPem(keys.privateKey),
  };
}

/** A certificate our CA signed directly, with the given dates and extensions. */
async function caSigned(
  dir: string,
  name: string,
  options: { notBefore: Date; notAfter: Date; extensions: x509.Extension[] },
): Promise<Credentials> {
  const ca = await loadAuthority(dataPaths(dir));
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${name}`,
    issuer: ca.certificate.subject,
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    ...options,
  });
  return {
    certificate: certificate.toString("pem"),
    key: await exportPrivateKeyPem(keys.privateKey),
  };
}

const DAY = 24 * 60 * 60 * 1000;
const CLIENT_EXTENSIONS = () => [
  new x509.BasicConstraintsExtension(false, undefined, true),
  new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
];

Deno.test("the server refuses every forged identity and logs each refusal", async () => {
  const dir = await makeDataDir();
  const server = await ServerProcess.start(dir);
  try {
    await chatSession(dir, server.port, ["/register sam"]);
    await chatSession(dir, server.port, ["/register erik"]);
    const caPem = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
    const ours = await loadAuthority(dataPaths(dir));
    const other = await createAuthority();
    const otherCa = { certificate: other.certificate, privateKey: other.keys.privateKey };
    const genuine: Credentials = {
      certificate: await Deno.readTextFile(join(dir, "clientkeys", "sam", "cert.pem")),
      key: await Deno.readTextFile(join(dir, "clientkeys", "sam", "key.pem")),
    };
    const now = Date.now();

    const selfSignedKeys = await generateKeyPair();
    const selfSigned = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=sam",
      keys: selfSignedKeys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: CLIENT_EXTENSIONS(),
    });

    const forgeries: Array<[string, Credentials | undefined]> = [
      ["no certificate", undefined],
      ["a self-signed certificate for sam", {
        certificate: selfSigned.toString("pem"),
        key: await exportPrivateKeyPem(selfSignedKeys.privateKey),
      }],
      [
        "another CA's certificate for sam",
        await credentialsFor("sam", (r) => signRequest(otherCa, r)),
      ],
      [
        "our CA's certificate for sam with another key",
        await credentialsFor("sam", (r) => signRequest(ours, r)),
      ],
      [
        "an expired certificate for sam",
        await caSigned(dir, "sam", {
          notBefore: new Date(now - 30 * DAY),
          notAfter: new Date(now - DAY),
          extensions: CLIENT_EXTENSIONS(),
        }),
      ],
      [
        "a not yet valid certificate for sam",
        await caSigned(dir, "sam", {
          notBefore: new Date(now + DAY),
          notAfter: new Date(now + 30 * DAY),
          extensions: CLIENT_EXTENSIONS(),
        }),
      ],
      [
        "a CA certificate for sam",
        await caSigned(dir, "sam", {
          notBefore: new Date(now - DAY),
          notAfter: new Date(now + DAY),
          extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
        }),
      ],
    ];

    for (const [what, credentials] of forgeries) {
      const client = await RawClient.connect(server.port, caPem, credentials);
      try {
        await client.hello();
        const login = await client.request({ type: "login", id: 1, name: "sam" });
        assert.deepEqual(login.at(-1), { type: "error", re: 1, code: "invalid_credentials" }, what);
        const register = await client.request({
          type: "register",
          id: 2,
          name: "mallory",
          encryption_key: toBase64Url(generateEncryptionKeyPair().publicKey),
          binding: "A".repeat(86),
        });
        assert.deepEqual(
          register.at(-1),
          { type: "error", re: 2, code: "invalid_credentials" },
          what,
        );
        const post = await client.request({
          type: "public",
          id: 3,
          text: "I am sam",
          signature: "{}",
        });
        assert.deepEqual(post.at(-1), { type: "error", re: 3, code: "not_available" }, what);
      } finally {
        client.close();
      }
    }

    // sam's genuine certificate does not make its holder erik.
    const asErik = await RawClient.connect(server.port, caPem, genuine);
    try {
      await asErik.hello();
      const login = await asErik.request({ type: "login", id: 1, name: "erik" });
      assert.deepEqual(login.at(-1), { type: "error", re: 1, code: "invalid_credentials" });
      // ...but does make them sam: the refusals above were not for lack of a working path.
      const genuineLogin = await asErik.request({ type: "login", id: 2, name: "sam" });
      assert.deepEqual(genuineLogin[0], { type: "ok", re: 2, status: "authenticated" });
    } finally {
      asErik.close();
    }

    // The last refusal (as erik) is logged soon after its reply: wait for it.
    await server.log.waitFor(/refused login of "erik"/);
    const refusals = server.log.lines.filter((line) =>
      /refused (login|registration) of/.test(line)
    );
    assert.equal(refusals.length, forgeries.length * 2 + 1, server.log.text());
    assert.ok(!server.log.text().includes("I am sam"), "message contents are never logged");
  } finally {
    await server.stop();
  }
});

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

    const future = await RawClient.connect(server.port, caPem);
    await future.send({ type: "hello", versions: [99] });
    assert.deepEqual(await future.next(), { type: "error", code: "unsupported_version" });
    assert.equal(await future.next(), null);
    future.close();

    // Requests sent just before the client ends its side are still answered.
    const hasty = await RawClient.connect(server.port, caPem);
    await hasty.send(
      '{"type":"hello","versions":[1]}\n{"type":"users","id":1}\n{"type":"login","id":2,"name":"x"}\n',
    );
    await hasty.closeWrite();
    assert.deepEqual(await hasty.next(), { type: "hello", version: 1 });
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

Deno.test({
  name: "X.509 v1 certificates are refused, CA-signed or self-signed, with their key or another",
  ignore: !hasOpenssl,
  async fn() {
    const dir = await makeDataDir();
    const server = await ServerProcess.start(dir);
    try {
      await chatSession(dir, server.port, ["/register sam"]);
      const work = await Deno.makeTempDir({ prefix: "chat-v1-" });
      await openssl(work, "genpkey", "-algorithm", "ed25519", "-out", "v1.key");
      await openssl(work, "genpkey", "-algorithm", "ed25519", "-out", "other.key");
      await openssl(work, "req", "-new", "-key", "v1.key", "-subj", "/CN=sam", "-out", "v1.csr");
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
        "v1.key",
        "-out",
        "self.crt",
      );
      const caPem = await Deno.readTextFile(join(dir, "clientkeys", "ca.crt"));
      // Deno 2.9.6 skips the handshake signature check for v1 certificates it
      // does not authorize: whichever layer refuses, none may yield an identity.
      for (const certificateFile of ["ca.crt", "self.crt"]) {
        for (const keyFile of ["v1.key", "other.key"]) {
          const what = `${certificateFile} with ${keyFile}`;
          const certificate = await Deno.readTextFile(join(work, certificateFile));
          let client: RawClient;
          try {
            client = await RawClient.connect(server.port, caPem, {
              certificate,
              key: await Deno.readTextFile(join(work, keyFile)),
            });
            await client.hello();
          } catch (error) {
            // Refused in the handshake, for the certificate's version.
            assert.match(String(error), /UnsupportedCertVersion|certificate/i, what);
            continue;
          }
          try {
            const login = await client.request({ type: "login", id: 1, name: "sam" });
            assert.deepEqual(
              login.at(-1),
              { type: "error", re: 1, code: "invalid_credentials" },
              what,
            );
          } finally {
            client.close();
          }
        }
      }
    } finally {
      await server.stop();
    }
  },
});
