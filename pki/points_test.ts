import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import { createAuthority, signRequest, verifyClientCertificate } from "./certificates.ts";
import { SIGNING_ALGORITHM } from "./keys.ts";
import { ed25519KeyProblem, x25519KeyProblem } from "./points.ts";
import { x509 } from "./x509.ts";

const P = (1n << 255n) - 19n;
const X25519_PREFIX = "302a300506032b656e032100";
const ED25519_PREFIX = "302a300506032b6570032100";

const hex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));
const littleEndian = (value: bigint) =>
  Array.from({ length: 32 }, (_, i) => Number((value >> BigInt(8 * i)) & 255n));
const x25519 = (u: bigint) => new Uint8Array([...hex(X25519_PREFIX), ...littleEndian(u)]);

/** What OpenSSL (node:crypto) does with the key: derive, or fail (an all-zero secret). */
function derives(spki: Uint8Array): boolean {
  const mine = nodeCrypto.generateKeyPairSync("x25519").privateKey;
  try {
    const publicKey = nodeCrypto.createPublicKey({
      key: Buffer.from(spki),
      format: "der",
      type: "spki",
    });
    nodeCrypto.diffieHellman({ privateKey: mine, publicKey });
    return true;
  } catch {
    return false;
  }
}

Deno.test("x25519KeyProblem() refuses every key OpenSSL cannot derive with, and no fresh key", () => {
  const weak = [
    0n,
    1n,
    325606250916557431795983626356110631294008115727848805560023387167927233504n,
    39382357235489614581723060781553021112529911719440698176882885853963445705823n,
    P - 1n,
    P, // non-canonical 0
    P + 1n, // non-canonical 1
  ];
  for (const u of weak) {
    assert.equal(derives(x25519(u)), false, `OpenSSL derives with ${u}`);
    assert.notEqual(x25519KeyProblem(x25519(u)), null, `${u} accepted`);
  }
  // The top bit set: another encoding of a good key.
  const good = x25519(9n);
  const high = good.slice();
  high[high.length - 1] |= 0x80;
  assert.equal(x25519KeyProblem(good), null);
  assert.equal(x25519KeyProblem(high), "non-canonical X25519 key");
  for (let i = 0; i < 50; i++) {
    const key = nodeCrypto.generateKeyPairSync("x25519").publicKey.export({
      format: "der",
      type: "spki",
    });
    assert.equal(x25519KeyProblem(new Uint8Array(key)), null);
  }
  assert.equal(x25519KeyProblem(new Uint8Array(44)), "not an X25519 key");
});

/** The eight points of small order on Ed25519, canonically encoded ("Taming the many EdDSAs", table). */
const SMALL_ORDER_ED25519 = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];

Deno.test("ed25519KeyProblem() refuses the small-order points and non-canonical keys, and no fresh key", () => {
  for (const point of SMALL_ORDER_ED25519) {
    assert.equal(
      ed25519KeyProblem(hex(ED25519_PREFIX + point)),
      "Ed25519 key of small order",
      point,
    );
  }
  // y = p + 1, another encoding of the neutral point.
  const nonCanonical = "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
  assert.equal(ed25519KeyProblem(hex(ED25519_PREFIX + nonCanonical)), "non-canonical Ed25519 key");
  for (let i = 0; i < 50; i++) {
    const key = nodeCrypto.generateKeyPairSync("ed25519").publicKey.export({
      format: "der",
      type: "spki",
    });
    assert.equal(ed25519KeyProblem(new Uint8Array(key)), null);
  }
});

Deno.test("a CA-signed certificate for a small-order key is refused, and the TTP never issues one", async () => {
  const { certificate: caCertificate, keys: caKeys } = await createAuthority();
  const weak = await crypto.subtle.importKey(
    "spki",
    hex(ED25519_PREFIX + SMALL_ORDER_ED25519[0]),
    SIGNING_ALGORITHM,
    true,
    ["verify"],
  );
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: "01",
    subject: "CN=mallory",
    issuer: caCertificate.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: weak,
    signingKey: caKeys.privateKey,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  await assert.rejects(
    verifyClientCertificate(new Uint8Array(certificate.rawData), caCertificate),
    /small order/,
  );
  // A request "signed" by the neutral point: R = neutral, S = 0 verifies for any message.
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=mallory",
    keys: await crypto.subtle.generateKey(SIGNING_ALGORITHM, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  const forged = new x509.Pkcs10CertificateRequest(request.rawData);
  const spki = new Uint8Array(forged.publicKey.rawData);
  assert.equal(ed25519KeyProblem(spki), null, "a fresh request key is fine");
  await assert.rejects(
    signRequest({ certificate: caCertificate, privateKey: caKeys.privateKey }, replaceKey(forged)),
    /certificate request key: Ed25519 key of small order/,
  );
});

/** The request with its key swapped for the neutral point and the signature R = neutral, S = 0. */
function replaceKey(request: x509.Pkcs10CertificateRequest): string {
  const der = new Uint8Array(request.rawData);
  const key = new Uint8Array(request.publicKey.rawData);
  const at = Buffer.from(der).indexOf(Buffer.from(key));
  der.set(hex(ED25519_PREFIX + SMALL_ORDER_ED25519[0]), at);
  // The signature is the last 64 bytes of the DER.
  der.set(hex(SMALL_ORDER_ED25519[0] + "00".repeat(32)), der.length - 64);
  return new x509.Pkcs10CertificateRequest(der).toString("pem");
}
