/**
 * Certificate revocation (SPEC sections 1, 3 and 8): the TTP's list of the
 * certificates it no longer vouches for, an X.509 CRL (RFC 5280 section 5)
 * signed by the CA and kept at `serverkeys/crl.pem`. `chat ca revoke` adds to
 * it; the server reads it at start and on SIGHUP and refuses, and ends the
 * sessions of, any certificate it lists. Made and read with @peculiar/x509.
 */

import { type Authority, type Certificate, CertificateError } from "./certificates.ts";
import { SIGNING_ALGORITHM } from "./keys.ts";
import { normalSerial } from "./serials.ts";
import { x509 } from "./x509.ts";

/** Large enough for many thousands of entries, small enough to read at every SIGHUP. */
export const MAX_CRL_BYTES = 4 * 1024 * 1024;

/** id-ce-cRLNumber (RFC 5280, 5.2.3). */
const CRL_NUMBER = "2.5.29.20";

/** The CRL number of `crl`, 0 when it has none. */
function crlNumber(crl: x509.X509Crl): number {
  const extension = crl.getExtension(CRL_NUMBER);
  if (extension === null) return 0;
  const der = new Uint8Array(extension.value);
  // INTEGER, short length, at most 6 value octets (the numbers this module writes).
  if (der[0] !== 0x02 || der[1] > 6 || der.length !== 2 + der[1]) return 0;
  return der.subarray(2).reduce((n, byte) => n * 256 + byte, 0);
}

/** A non-negative integer below 2^47 as a DER INTEGER. */
function derInteger(n: number): ArrayBuffer {
  const bytes: number[] = [];
  do {
    bytes.unshift(n % 256);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]).buffer;
}

/** A CRL's validity: the server does not act on `nextUpdate`, but other readers may. */
const CRL_VALIDITY_MS = 10 * 365 * 24 * 60 * 60 * 1000;

/** The serial numbers a CRL lists. */
export interface RevocationList {
  serials: ReadonlySet<string>;
  /** When the TTP signed this list. */
  thisUpdate: Date;
}

/**
 * Reads a CRL and checks that this CA issued and signed it; a CRL anyone
 * else made is refused (it could revoke, or worse, un-revoke, at will).
 */
export async function readRevocationList(pem: string, ca: Certificate): Promise<RevocationList> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(pem);
  } catch {
    throw new CertificateError("not a certificate revocation list");
  }
  if (crl.issuer !== ca.subject) throw new CertificateError("CRL is not issued by this CA");
  let signed = false;
  try {
    signed = await crl.verify({ publicKey: ca.publicKey });
  } catch {
    signed = false;
  }
  if (!signed) throw new CertificateError("CRL is not signed by this CA");
  return {
    serials: new Set(crl.entries.map((entry) => normalSerial(entry.serialNumber))),
    thisUpdate: crl.thisUpdate,
  };
}

/**
 * A new CRL signed by the CA: every serial of `previous` (kept with their
 * dates) plus `certificate`'s. The caller checks the certificate is this CA's.
 */
export async function addToRevocationList(
  ca: Authority,
  previousPem: string | null,
  certificate: Certificate,
  at = new Date(),
): Promise<{ pem: string; added: boolean }> {
  // Whole seconds: DER times carry no fractions (RFC 5280, 4.1.2.5.2).
  const now = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const entries: x509.X509CrlEntryParams[] = [];
  const seen = new Set<string>();
  if (previousPem !== null) {
    const previous = new x509.X509Crl(previousPem);
    for (const entry of previous.entries) {
      const serial = normalSerial(entry.serialNumber);
      if (seen.has(serial)) continue;
      seen.add(serial);
      entries.push({
        serialNumber: serial,
        revocationDate: entry.revocationDate,
        invalidity: entry.invalidity ?? entry.revocationDate,
        // No reason code: "unspecified" is to be left out (RFC 5280, 5.3.1).
        ...(entry.reason ? { reason: entry.reason } : {}),
      });
    }
  }
  const serial = normalSerial(certificate.serialNumber);
  const added = !seen.has(serial);
  if (added) {
    // The invalidity date (RFC 5280, 5.3.2): the key is not to be trusted from
    // now. (@peculiar/x509 2.2.0 writes an entry's extensions even when there
    // are none, an empty SEQUENCE that OpenSSL rightly refuses; with one, the
    // CRL is well-formed.)
    entries.push({ serialNumber: serial, revocationDate: now, invalidity: now });
  }
  // RFC 5280, 5.2: a CRL names the CA's key and carries a growing number.
  const previousNumber = previousPem === null ? 0 : crlNumber(new x509.X509Crl(previousPem));
  const number = Math.max(previousNumber + 1, Math.floor(now.getTime() / 1000));
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subject,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + CRL_VALIDITY_MS),
    entries,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      new x509.Extension(CRL_NUMBER, false, derInteger(number)),
    ],
    signingAlgorithm: SIGNING_ALGORITHM,
    signingKey: ca.privateKey,
  });
  // RFC 7468's label, "X509 CRL" (the library writes "CRL", which OpenSSL refuses).
  return { pem: x509.PemConverter.encode(crl.rawData, "X509 CRL") + "\n", added };
}
