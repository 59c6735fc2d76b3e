import assert from "node:assert/strict";
import {
  CertificateError,
  createAuthority,
  createRequest,
  LEAF_VALIDITY_DAYS,
  signRequest,
} from "../pki/certificates.ts";
import { generateKeyPair } from "../pki/keys.ts";
import { CertificateCache } from "./certificate_cache.ts";

Deno.test("CertificateCache answers as the full check, and re-checks a cached certificate's dates", async () => {
  const { certificate: ca, keys } = await createAuthority();
  const authority = { certificate: ca, privateKey: keys.privateKey };
  const issued = await signRequest(authority, await createRequest("sam", await generateKeyPair()));
  const der = new Uint8Array(issued.rawData);
  const cache = new CertificateCache(ca);
  assert.equal((await cache.verify(der)).name, "sam");
  assert.equal((await cache.verify(der)).name, "sam", "cached");
  const later = new Date(Date.now() + (LEAF_VALIDITY_DAYS + 1) * 24 * 60 * 60 * 1000);
  await assert.rejects(cache.verify(der, later), /expired or not yet valid/);

  // A refusal is not remembered as anything: another CA's certificate stays refused.
  const other = await createAuthority();
  const foreign = await signRequest(
    { certificate: other.certificate, privateKey: other.keys.privateKey },
    await createRequest("sam", await generateKeyPair()),
  );
  for (let i = 0; i < 2; i++) {
    await assert.rejects(cache.verify(new Uint8Array(foreign.rawData)), CertificateError);
  }
});
