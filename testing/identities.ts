/**
 * Users minted for tests and bench without the client: a certificate from a
 * data directory's CA, the e2e keys (e2e/keys.ts) and the signed binding,
 * that is everything a `keys` reply carries. A fake server uses it to send
 * messages that verify; an attack test to present a real user's certificate.
 */

import { createRequest, signRequest } from "../pki/certificates.ts";
import { exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
import { loadAuthority } from "../pki/authority.ts";
import { dataPaths } from "../pki/paths.ts";
import { bindEncryptionKey, generateEncryptionKeyPair, OwnKeys } from "../e2e/keys.ts";
import { toBase64Url } from "../protocol/base64url.ts";
import type { KeysReply } from "../protocol/frames.ts";

export interface Identity {
  name: string;
  /** The e2e keys, for signPublicMessage() and sealPrivateMessage(). */
  keys: OwnKeys;
  /** PEM, for a TLS client: the CA-signed certificate and its private key. */
  certificate: string;
  key: string;
  /** DER of the certificate. */
  certificateDer: Uint8Array;
  /** The binding of the encryption key by the identity key. */
  binding: Uint8Array;
}

/** A user `name` certified by the CA in `dir` (which holds ttpkeys/). */
export async function mintIdentity(dir: string, name: string): Promise<Identity> {
  const ca = await loadAuthority(dataPaths(dir));
  const pair = await generateKeyPair();
  const certificate = await signRequest(ca, await createRequest(name, pair));
  const identityPem = await exportPrivateKeyPem(pair.privateKey);
  const encryption = generateEncryptionKeyPair();
  const keys = new OwnKeys(
    {
      name,
      identity: new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
      encryption: encryption.publicKey,
    },
    identityPem,
    encryption.privatePem,
  );
  return {
    name,
    keys,
    certificate: certificate.toString("pem"),
    key: identityPem,
    certificateDer: new Uint8Array(certificate.rawData),
    binding: bindEncryptionKey(keys),
  };
}

/** The `keys` reply a server would send for `identity`. */
export function keysReply(identity: Identity, re: number): KeysReply {
  return {
    type: "keys",
    re,
    name: identity.name,
    certificate: toBase64Url(identity.certificateDer),
    encryption_key: toBase64Url(identity.keys.keys.encryption),
    binding: toBase64Url(identity.binding),
  };
}
