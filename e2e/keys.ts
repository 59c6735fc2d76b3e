/**
 * A user's end-to-end keys, their own and their peers': the Ed25519 identity
 * key (the certificate's key, which signs) and the X25519 encryption key (in
 * the certificate's extension), and the fingerprint people compare out of
 * band. Key objects are node:crypto's, whose calls are synchronous: a client
 * verifies every message it shows, and a WebCrypto call costs a thread hop.
 */

import { Buffer } from "node:buffer";
import nodeCrypto, { type KeyObject } from "node:crypto";
import { labelled, toBase64Url } from "./encoding.ts";
import { VerificationError } from "./envelope.ts";

/** The public half of a user's keys, as their certificate binds them. */
export interface PublicKeys {
  name: string;
  /** DER SubjectPublicKeyInfo, Ed25519. */
  identity: Uint8Array;
  /** DER SubjectPublicKeyInfo, X25519. */
  encryption: Uint8Array;
}

/** A peer whose keys were checked (certificate and pin) by the caller. */
export class Peer {
  readonly keys: PublicKeys;
  #verifier: KeyObject | null = null;
  #agreement: KeyObject | null = null;

  constructor(keys: PublicKeys) {
    this.keys = keys;
  }

  get name(): string {
    return this.keys.name;
  }

  get verifier(): KeyObject {
    return this.#verifier ??= publicKey(this.keys.identity);
  }

  get agreementKey(): KeyObject {
    return this.#agreement ??= publicKey(this.keys.encryption);
  }
}

/** The user's own keys; also a Peer, since one can read one's own messages. */
export class OwnKeys extends Peer {
  readonly signer: KeyObject;
  readonly #encryption: KeyObject;
  readonly #pairKeys = new Map<string, Uint8Array>();

  constructor(keys: PublicKeys, identityPrivatePem: string, encryptionPrivatePem: string) {
    super(keys);
    this.signer = nodeCrypto.createPrivateKey(identityPrivatePem);
    this.#encryption = nodeCrypto.createPrivateKey(encryptionPrivatePem);
    if (this.signer.asymmetricKeyType !== "ed25519") throw new Error("identity key is not Ed25519");
    if (this.#encryption.asymmetricKeyType !== "x25519") {
      throw new Error("encryption key is not X25519");
    }
  }

  /**
   * The key this user shares with `peer` (e2e/README.md, "Pair key"):
   * HKDF-SHA256 of their X25519 shared secret, bound to both names and keys.
   * Cached per peer name and key.
   */
  pairKey(peer: Peer): Uint8Array {
    const cacheKey = `${peer.name}\0${toBase64Url(peer.keys.encryption)}`;
    let key = this.#pairKeys.get(cacheKey);
    if (key === undefined) {
      let secret: Buffer;
      try {
        secret = nodeCrypto.diffieHellman({
          privateKey: this.#encryption,
          publicKey: peer.agreementKey,
        });
      } catch {
        // An all-zero secret (a small-order key that got past the checks) or a broken key.
        throw new VerificationError("the peer's encryption key is unusable");
      }
      const parties = [
        [this.name, toBase64Url(this.keys.encryption)],
        [peer.name, toBase64Url(peer.keys.encryption)],
      ].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      key = new Uint8Array(
        nodeCrypto.hkdfSync("sha256", secret, new Uint8Array(0), labelled(PAIR_LABEL, parties), 32),
      );
      this.#pairKeys.set(cacheKey, key);
    }
    return key;
  }
}

const PAIR_LABEL = "chat/e2e/v1/pair";
const FINGERPRINT_LABEL = "chat/e2e/v1/fingerprint";
const BINDING_LABEL = "chat/e2e/v1/encryption-key";
const SIGNATURE_BYTES = 64;

/**
 * The binding of a user's encryption key to their name and identity key: a
 * signature by the identity key (which the CA-signed certificate binds to the
 * name), as Signal's identity key signs its signed prekey. The server stores
 * it and hands it out with the certificate; it cannot forge one.
 */
export function bindEncryptionKey(own: OwnKeys): Uint8Array {
  return new Uint8Array(
    nodeCrypto.sign(null, bindingMessage(own.name, own.keys.encryption), own.signer),
  );
}

/** Checks a binding; `identity` comes from a certificate already checked against the CA. */
export function verifyEncryptionKeyBinding(keys: PublicKeys, binding: Uint8Array): boolean {
  if (binding.byteLength !== SIGNATURE_BYTES || !isX25519Spki(keys.encryption)) return false;
  try {
    return nodeCrypto.verify(
      null,
      bindingMessage(keys.name, keys.encryption),
      publicKey(keys.identity),
      binding,
    );
  } catch {
    return false;
  }
}

function bindingMessage(name: string, encryption: Uint8Array): Uint8Array {
  return labelled(BINDING_LABEL, [name, toBase64Url(encryption)]);
}

/** SEQUENCE { SEQUENCE { OID 1.3.101.110 }, BIT STRING }: RFC 8410 fixes the whole encoding. */
const X25519_SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00];

export function isX25519Spki(bytes: Uint8Array): boolean {
  return bytes.byteLength === X25519_SPKI_PREFIX.length + 32 &&
    X25519_SPKI_PREFIX.every((byte, i) => bytes[i] === byte);
}

/**
 * SHA-256 over both public keys, as 16 groups of 4 hex digits: what two
 * people read to each other to check they see the same keys.
 */
export function fingerprint(keys: PublicKeys): string {
  const hash = nodeCrypto.createHash("sha256")
    .update(new TextEncoder().encode(FINGERPRINT_LABEL + "\0"))
    .update(keys.identity)
    .update(keys.encryption)
    .digest("hex");
  return hash.match(/.{4}/g)!.join(" ");
}

/** A new X25519 key pair: PKCS#8 PEM private key, DER SPKI public key. */
export function generateEncryptionKeyPair(): { privatePem: string; publicKey: Uint8Array } {
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync("x25519");
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }) as string,
    publicKey: new Uint8Array(publicKey.export({ format: "der", type: "spki" }) as Buffer),
  };
}

function publicKey(spki: Uint8Array): KeyObject {
  return nodeCrypto.createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
}

/**
 * Fresh identity and encryption keys for `name`, with no certificate: for
 * tests and benchmarks (a user's own are made at registration and certified).
 */
export function generateOwnKeys(name: string): OwnKeys {
  const identity = nodeCrypto.generateKeyPairSync("ed25519");
  const encryption = generateEncryptionKeyPair();
  return new OwnKeys(
    {
      name,
      identity: new Uint8Array(
        identity.publicKey.export({ format: "der", type: "spki" }) as Buffer,
      ),
      encryption: encryption.publicKey,
    },
    identity.privateKey.export({ format: "pem", type: "pkcs8" }) as string,
    encryption.privatePem,
  );
}
