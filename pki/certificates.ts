/**
 * X.509 v3 certificates for the TTP model of SPEC section 4: a root CA, the
 * server's TLS certificate, and one client certificate per user, issued from a
 * PKCS#10 request that the user's own client made. Profiles follow RFC 5280
 * (section 4.2 for the extensions) the way mkcert and smallstep issue them.
 *
 * No sockets, no files: values in, values out.
 */

import { ed25519KeyProblem } from "./points.ts";
import { isIP } from "node:net";
import { MAX_CERTIFICATE_BYTES } from "../protocol/limits.ts";
import { isValidName } from "../protocol/names.ts";
import { normalSerial } from "./serials.ts";
import { exportPublicKeyDer, generateKeyPair, KEY_ALGORITHM, SIGNING_ALGORITHM } from "./keys.ts";
import { x509 } from "./x509.ts";

export type Certificate = x509.X509Certificate;

/** The CA's certificate with the key that signs for it. */
export interface Authority {
  certificate: Certificate;
  privateKey: CryptoKey;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Ten years: the root outlives every leaf it signs. */
export const CA_VALIDITY_DAYS = 3650;
/** 825 days, the longest leaf lifetime browsers accepted (CA/B Forum BR 6.3.2, 2018). */
export const LEAF_VALIDITY_DAYS = 825;
/** Leaves are back-dated a little so a peer's slow clock does not reject them. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** A request or certificate larger than this is not ours: refuse before parsing. */
export { MAX_CERTIFICATE_BYTES };

const CA_NAME = "CN=chat root CA";
const SERVER_NAME = "CN=chat server";

/** Why a request or a certificate was refused; the message names the rule. */
export class CertificateError extends Error {
  override name = "CertificateError";
}

/** 128 random bits, positive (RFC 5280 4.1.2.2 allows up to 20 octets). */
export function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01; // no leading zero octet to strip
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function createAuthority(
  now = new Date(),
): Promise<{ certificate: Certificate; keys: CryptoKeyPair }> {
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: CA_NAME,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, keys };
}

/** Every name the server answers to: the loopback names and each `--host`. */
export function serverHostNames(extraHosts: readonly string[]): string[] {
  const names = ["localhost", "127.0.0.1", "::1", ...extraHosts];
  return [...new Set(names)];
}

/** The names (DNS and IP) a server certificate is valid for, in its order. */
export function certificateHostNames(certificate: Certificate): string[] {
  const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
  return (names ?? []).filter((n) => n.type === "dns" || n.type === "ip").map((n) => n.value);
}

export async function issueServerCertificate(
  ca: Authority,
  publicKey: CryptoKey,
  hosts: readonly string[],
  now = new Date(),
): Promise<Certificate> {
  const altNames = hosts.map((host) => ({
    type: isIP(host) ? "ip" as const : "dns" as const,
    value: host,
  }));
  return await issueLeaf(ca, publicKey, SERVER_NAME, now, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(altNames),
  ]);
}

/** The user's side of registration: a PKCS#10 request naming them. */
export async function createRequest(
  name: string,
  keys: CryptoKeyPair,
): Promise<string> {
  if (!isValidName(name)) throw new CertificateError("invalid user name");
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return request.toString("pem") + "\n";
}

/**
 * The TTP's side: checks that the request is signed by the key it carries
 * (proof of possession) and names a valid user, then issues a client
 * certificate for that key and name. Nothing else in the request is copied.
 */
export async function signRequest(
  ca: Authority,
  requestPem: string,
  now = new Date(),
): Promise<Certificate> {
  if (requestPem.length > MAX_CERTIFICATE_BYTES * 2) {
    throw new CertificateError("certificate request too large");
  }
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(requestPem);
  } catch {
    throw new CertificateError("not a certificate request");
  }
  if (!(await verifiesQuietly(() => request.verify()))) {
    throw new CertificateError("certificate request signature does not verify");
  }
  const name = commonName(request.subjectName);
  if (name === null || !isValidName(name)) {
    throw new CertificateError("certificate request does not name a valid user");
  }
  const publicKey = await request.publicKey.export();
  if (publicKey.algorithm.name !== KEY_ALGORITHM.name) {
    throw new CertificateError("certificate request key is not Ed25519");
  }
  // A small-order key "signs" its own request for anyone: never certify one.
  const keyProblem = ed25519KeyProblem(new Uint8Array(request.publicKey.rawData));
  if (keyProblem !== null) throw new CertificateError(`certificate request key: ${keyProblem}`);
  return await issueLeaf(ca, publicKey, `CN=${name}`, now, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  ]);
}

async function issueLeaf(
  ca: Authority,
  publicKey: CryptoKey,
  subject: string,
  now: Date,
  extensions: x509.Extension[],
): Promise<Certificate> {
  return await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject,
    issuer: ca.certificate.subject,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
    ],
  });
}

/** A user identity proven by a client certificate. */
export interface ClientIdentity {
  name: string;
  /** DER SubjectPublicKeyInfo: what the server pins at registration. */
  publicKey: Uint8Array;
  /** The certificate's serial number, as pki/revocation.ts spells it (for the CRL). */
  serial: string;
  /** Its validity period, ms since the epoch (a cache of verified certificates re-checks it). */
  notBefore: number;
  notAfter: number;
}

/**
 * Checks a client certificate against our CA on its own, without trusting
 * the TLS stack's verdict: v3, issued and signed by the CA, valid at `now`,
 * not a CA, for client authentication, naming one valid user.
 */
export async function verifyClientCertificate(
  der: Uint8Array,
  caCertificate: Certificate,
  now = new Date(),
): Promise<ClientIdentity> {
  if (der.byteLength > MAX_CERTIFICATE_BYTES) {
    throw new CertificateError("certificate too large");
  }
  let certificate: Certificate;
  try {
    certificate = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
  } catch {
    throw new CertificateError("not a certificate");
  }
  // X.509 v1 has no extensions, so nothing in it says "not a CA" or
  // "client only"; Deno 2.9.6 also skips a handshake check for v1 leaves.
  if (certificateVersion(certificate) !== 2) {
    throw new CertificateError("certificate is not X.509 v3");
  }
  if (certificate.issuer !== caCertificate.subject) {
    throw new CertificateError("certificate is not issued by this CA");
  }
  const signed = await verifiesQuietly(() =>
    certificate.verify({ publicKey: caCertificate.publicKey, signatureOnly: true })
  );
  if (!signed) {
    throw new CertificateError("certificate is not signed by this CA");
  }
  if (now < certificate.notBefore || now > certificate.notAfter) {
    throw new CertificateError("certificate is expired or not yet valid");
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (constraints?.ca) {
    throw new CertificateError("certificate is a CA certificate");
  }
  const usage = certificate.getExtension(x509.ExtendedKeyUsageExtension);
  if (!usage?.usages.includes(x509.ExtendedKeyUsage.clientAuth)) {
    throw new CertificateError("certificate is not for client authentication");
  }
  const name = commonName(certificate.subjectName);
  if (name === null || !isValidName(name)) {
    throw new CertificateError("certificate does not name a valid user");
  }
  const publicKey = new Uint8Array(certificate.publicKey.rawData);
  const keyProblem = ed25519KeyProblem(publicKey);
  if (keyProblem !== null) throw new CertificateError(`certificate key: ${keyProblem}`);
  return {
    name,
    publicKey,
    serial: normalSerial(certificate.serialNumber),
    notBefore: certificate.notBefore.getTime(),
    notAfter: certificate.notAfter.getTime(),
  };
}

/** The single CN of a name, or null when there is none or more than one. */
export function commonName(name: x509.Name): string | null {
  const values = name.getField("CN");
  return values.length === 1 ? values[0] : null;
}

export async function publicKeyOf(keys: CryptoKeyPair): Promise<Uint8Array> {
  return await exportPublicKeyDer(keys.publicKey);
}

/** The encoded version field: 0 for v1, 2 for v3 (RFC 5280 4.1.2.1). */
function certificateVersion(certificate: Certificate): number {
  // The parsed structure is there, only marked protected in the typings.
  const parsed = certificate as unknown as { asn: { tbsCertificate: { version: number } } };
  return parsed.asn.tbsCertificate.version;
}

async function verifiesQuietly(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch {
    return false;
  }
}
