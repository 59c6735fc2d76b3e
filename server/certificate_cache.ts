/**
 * Client certificates this server has verified, by the SHA-256 of their
 * DER: a user who logs in again presents the same certificate, and parsing
 * and checking it (asn1js and a signature) was a large part of a login's CPU.
 * A cached certificate is still checked against the clock, and only what the
 * full check accepted is cached; refusals are checked afresh every time.
 */

import nodeCrypto from "node:crypto";
import {
  type Certificate,
  type ClientIdentity,
  verifyClientCertificate,
} from "../pki/certificates.ts";

/** Entries kept; past this the cache starts over (it is only a cache). */
const MAX_ENTRIES = 10_000;

export class CertificateCache {
  readonly #ca: Certificate;
  /** The identity carries the certificate's validity period, re-checked at each hit. */
  readonly #entries = new Map<string, ClientIdentity>();

  constructor(ca: Certificate) {
    this.#ca = ca;
  }

  /** As verifyClientCertificate(); throws CertificateError for a refusal. */
  async verify(der: Uint8Array, now = new Date()): Promise<ClientIdentity> {
    const key = nodeCrypto.createHash("sha256").update(der).digest("base64");
    const entry = this.#entries.get(key);
    if (
      entry !== undefined && now.getTime() >= entry.notBefore && now.getTime() <= entry.notAfter
    ) {
      return entry;
    }
    // Not cached, or out of its validity now: the full check says why.
    const identity = await verifyClientCertificate(der, this.#ca, now);
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(key, identity);
    return identity;
  }
}
