/**
 * Hostile certificates and requests never crash pki/ and are never taken
 * for another identity: the DER of a valid client certificate (as a server
 * reads it from a TLS handshake or a client from a `keys` reply) and of a
 * certificate request (as the TTP reads it) is damaged byte by byte; each
 * refusal is a CertificateError, and anything accepted names the original
 * user and key. The seed is in the test's name (FUZZ_SEED=n replays).
 */

import assert from "node:assert/strict";
import {
  CertificateError,
  createAuthority,
  createRequest,
  signRequest,
  verifyClientCertificate,
} from "./certificates.ts";
import { generateKeyPair } from "./keys.ts";
import { x509 } from "./x509.ts";
import { generator, inputs, type Random, SEED } from "../testing/fuzz.ts";

/** DER damage that keeps much of the structure: bit flips, length bytes, truncation. */
function damage(random: Random, der: Uint8Array): Uint8Array {
  const out = der.slice();
  switch (random.int(4)) {
    case 0:
      for (let i = 0, n = 1 + random.int(3); i < n; i++) {
        out[random.int(out.length)] ^= 1 << random.int(8);
      }
      return out;
    case 1: { // a length or tag byte: the byte after a 0x30 (SEQUENCE) or 0x02 (INTEGER)
      const starts = [...out.keys()].filter((i) => out[i] === 0x30 || out[i] === 0x02);
      const at = random.pick(starts) + random.int(2);
      out[at] = random.pick([0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0xff, out[at] + 1, out[at] - 1]);
      return out;
    }
    case 2:
      return out.subarray(0, random.int(out.length));
    default: { // a run of bytes overwritten
      const at = random.int(out.length);
      for (let i = at; i < Math.min(out.length, at + 1 + random.int(8)); i++) {
        out[i] = random.int(256);
      }
      return out;
    }
  }
}

function tally(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

Deno.test(`fuzz seed ${SEED}: damaged client certificates are refused or name the same user and key`, async () => {
  const random = generator(SEED ^ 0xce47);
  const { certificate, keys } = await createAuthority();
  const ca = { certificate, privateKey: keys.privateKey };
  const issued = await signRequest(ca, await createRequest("sam", await generateKeyPair()));
  const der = new Uint8Array(issued.rawData);
  const genuine = await verifyClientCertificate(der, certificate);
  const refusals = new Map<string, number>();
  const n = inputs(3_000);
  for (let i = 0; i < n; i++) {
    const input = damage(random, der);
    try {
      const identity = await verifyClientCertificate(input, certificate);
      assert.deepEqual(identity, genuine, `seed ${SEED}, input ${i}`);
      tally(refusals, "accepted");
    } catch (error) {
      if (!(error instanceof CertificateError)) {
        throw new Error(`seed ${SEED}, input ${i}: ${error}`);
      }
      tally(refusals, error.message);
    }
  }
  console.log(JSON.stringify([...refusals]));
  // Damage reached both the parse and the signature check behind it.
  assert.ok((refusals.get("not a certificate") ?? 0) > 0);
  assert.ok((refusals.get("certificate is not signed by this CA") ?? 0) > n / 10);
});

Deno.test(`fuzz seed ${SEED}: damaged certificate requests are refused or certify the same name and key`, async () => {
  const random = generator(SEED ^ 0xc5a);
  const { certificate, keys } = await createAuthority();
  const ca = { certificate, privateKey: keys.privateKey };
  const pem = await createRequest("sam", await generateKeyPair());
  const der = new Uint8Array(x509.PemConverter.decode(pem)[0]);
  const original = new x509.Pkcs10CertificateRequest(pem);
  const refusals = new Map<string, number>();
  const n = inputs(2_000);
  for (let i = 0; i < n; i++) {
    const input = damage(random, der);
    const text = x509.PemConverter.encode(input.slice().buffer, "CERTIFICATE REQUEST");
    try {
      const issued = await signRequest(ca, text);
      assert.equal(issued.subject, "CN=sam", `seed ${SEED}, input ${i}`);
      assert.deepEqual(
        new Uint8Array(issued.publicKey.rawData),
        new Uint8Array(original.publicKey.rawData),
        `seed ${SEED}, input ${i}`,
      );
      tally(refusals, "accepted");
    } catch (error) {
      if (!(error instanceof CertificateError)) {
        throw new Error(`seed ${SEED}, input ${i}: ${error}`);
      }
      tally(refusals, error.message);
    }
  }
  console.log(JSON.stringify([...refusals]));
  assert.ok((refusals.get("certificate request signature does not verify") ?? 0) > n / 10);
});
