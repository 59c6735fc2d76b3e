import assert from "node:assert/strict";
import {
  CertificateError,
  createAuthority,
  createRequest,
  issueServerCertificate,
  serverHostNames,
  signRequest,
  verifyClientCertificate,
} from "./certificates.ts";
import { generateKeyPair, SIGNING_ALGORITHM } from "./keys.ts";
import { x509 } from "./x509.ts";

async function authority() {
  const { certificate, keys } = await createAuthority();
  return { certificate, privateKey: keys.privateKey };
}

Deno.test("createAuthority() makes a v3 CA certificate that may only sign certificates", async () => {
  const ca = await authority();
  const constraints = ca.certificate.getExtension(x509.BasicConstraintsExtension)!;
  assert.equal(constraints.ca, true);
  assert.equal(constraints.critical, true);
  const usage = ca.certificate.getExtension(x509.KeyUsagesExtension)!;
  assert.equal(usage.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.ok(await ca.certificate.isSelfSigned());
});

Deno.test("issueServerCertificate() names loopback and every extra host, for serverAuth", async () => {
  const ca = await authority();
  const keys = await generateKeyPair();
  const certificate = await issueServerCertificate(
    ca,
    keys.publicKey,
    serverHostNames(["chat.example.org", "10.0.0.7"]),
  );
  const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
  assert.deepEqual(names.map((n) => `${n.type}:${n.value}`), [
    "dns:localhost",
    "ip:127.0.0.1",
    "ip:::1",
    "dns:chat.example.org",
    "ip:10.0.0.7",
  ]);
  const usage = certificate.getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.deepEqual([...usage.usages], [x509.ExtendedKeyUsage.serverAuth]);
  assert.ok(await certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }));
});

Deno.test("signRequest() issues a client certificate that verifyClientCertificate() accepts", async () => {
  const ca = await authority();
  const keys = await generateKeyPair();
  const certificate = await signRequest(ca, await createRequest("sam", keys));
  const identity = await verifyClientCertificate(
    new Uint8Array(certificate.rawData),
    ca.certificate,
  );
  assert.equal(identity.name, "sam");
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  assert.deepEqual(identity.publicKey, spki);
  const serials = new Set<string>();
  for (let i = 0; i < 5; i++) {
    serials.add((await signRequest(ca, await createRequest("sam", keys))).serialNumber);
  }
  assert.equal(serials.size, 5, "serials are random, no counter file");
});

Deno.test("signRequest() refuses a request whose signature does not verify", async () => {
  const ca = await authority();
  const pem = await createRequest("sam", await generateKeyPair());
  const der = new Uint8Array(x509.PemConverter.decode(pem)[0]);
  der[der.length - 5] ^= 0x01; // inside the signature
  const tampered = x509.PemConverter.encode(der.buffer, "CERTIFICATE REQUEST");
  await assert.rejects(signRequest(ca, tampered), CertificateError);
});

Deno.test("signRequest() refuses a request for an invalid name, and garbage", async () => {
  const ca = await authority();
  const keys = await generateKeyPair();
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=../../etc",
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  await assert.rejects(signRequest(ca, request.toString("pem")), /valid user/);
  await assert.rejects(signRequest(ca, "hello"), /not a certificate request/);
});

Deno.test("verifyClientCertificate() refuses another CA's and a server certificate", async () => {
  const ca = await authority();
  const other = await authority();
  const keys = await generateKeyPair();
  const foreign = await signRequest(other, await createRequest("sam", keys));
  await assert.rejects(
    verifyClientCertificate(new Uint8Array(foreign.rawData), ca.certificate),
    CertificateError,
  );
  const server = await issueServerCertificate(ca, keys.publicKey, serverHostNames([]));
  await assert.rejects(
    verifyClientCertificate(new Uint8Array(server.rawData), ca.certificate),
    /client authentication|valid user/,
  );
  await assert.rejects(
    verifyClientCertificate(new Uint8Array(ca.certificate.rawData), ca.certificate),
    /CA certificate|client authentication/,
  );
  await assert.rejects(
    verifyClientCertificate(new Uint8Array(20_000), ca.certificate),
    /too large/,
  );
});

Deno.test("verifyClientCertificate() refuses an X.509 v1 certificate signed by the CA", async () => {
  const read = (file: string) => Deno.readTextFile(new URL(`./testdata/${file}`, import.meta.url));
  const ca = new x509.X509Certificate(await read("v1_ca.crt"));
  const v1 = new x509.X509Certificate(await read("v1_client.crt"));
  assert.ok(
    await v1.verify({ publicKey: ca.publicKey, signatureOnly: true }),
    "really signed by it",
  );
  await assert.rejects(
    verifyClientCertificate(new Uint8Array(v1.rawData), ca),
    /not X\.509 v3/,
  );
});

Deno.test("verifyClientCertificate() refuses each flaw of an otherwise good certificate with its reason", async () => {
  const ca = await authority();
  const keys = await generateKeyPair();
  const DAY = 24 * 60 * 60 * 1000;
  const selfSigned = async (name: string) => {
    const pair = await generateKeyPair();
    return {
      certificate: await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "02",
        name,
        keys: pair,
        signingAlgorithm: SIGNING_ALGORITHM,
      }),
      privateKey: pair.privateKey,
    };
  };
  type Flaw = Partial<{
    notBefore: Date;
    notAfter: Date;
    ca: boolean;
    usage: string;
    signer: { certificate: x509.X509Certificate; privateKey: CryptoKey };
    name: string;
  }>;
  const issue = async (flaw: Flaw) => {
    const signer = flaw.signer ?? ca;
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: "01",
      subject: `CN=${flaw.name ?? "sam"}`,
      issuer: signer.certificate.subject,
      notBefore: flaw.notBefore ?? new Date(Date.now() - DAY),
      notAfter: flaw.notAfter ?? new Date(Date.now() + DAY),
      signingAlgorithm: SIGNING_ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: signer.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(flaw.ca ?? false, undefined, true),
        new x509.ExtendedKeyUsageExtension([flaw.usage ?? x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
    return new Uint8Array(certificate.rawData);
  };
  const good = await verifyClientCertificate(await issue({}), ca.certificate);
  assert.equal(good.name, "sam", "the unflawed certificate is accepted");
  const cases: Array<[Flaw, string]> = [
    [{ notAfter: new Date(Date.now() - DAY) }, "certificate is expired or not yet valid"],
    [{ notBefore: new Date(Date.now() + DAY) }, "certificate is expired or not yet valid"],
    [{ ca: true }, "certificate is a CA certificate"],
    [{ usage: x509.ExtendedKeyUsage.serverAuth }, "certificate is not for client authentication"],
    [{ signer: await selfSigned("CN=another CA") }, "certificate is not issued by this CA"],
    [{ signer: await selfSigned(ca.certificate.subject) }, "certificate is not signed by this CA"],
    [{ name: "Not A Name!" }, "certificate does not name a valid user"],
  ];
  for (const [flaw, reason] of cases) {
    await assert.rejects(
      verifyClientCertificate(await issue(flaw), ca.certificate),
      (error: Error) => error instanceof CertificateError && error.message === reason,
      JSON.stringify(flaw),
    );
  }
});
