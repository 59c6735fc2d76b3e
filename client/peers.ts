/**
 * The keys of the people we talk to: fetched from the server, checked
 * against the CA and the peer's own binding signature, then against the pin
 * (e2e/README.md). The server is not trusted for any of it.
 */

import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import {
  type Certificate,
  CertificateError,
  verifyClientCertificate,
} from "../pki/certificates.ts";
import { fromBase64Url } from "../protocol/base64url.ts";
import type { KeysReply } from "../protocol/frames.ts";
import { fingerprint, OwnKeys, Peer, verifyEncryptionKeyBinding } from "../e2e/keys.ts";
import { x25519KeyProblem } from "../pki/points.ts";
import { x509 } from "../pki/x509.ts";
import type { PinStore } from "./pins.ts";

export type PeerLookup =
  | { kind: "ok"; peer: Peer; fingerprint: string }
  /** The server knows no such user. */
  | { kind: "unknown" }
  /** What the server handed out does not verify: it is not the peer's. */
  | { kind: "invalid"; reason: string }
  /** Valid keys, but not the ones pinned for this peer. */
  | { kind: "changed"; fingerprint: string; pinned: string; peer: Peer };

/** Asks the server for a user's keys; null when it knows no such user. */
export type KeysFetcher = (name: string) => Promise<KeysReply | null>;

export class PeerDirectory {
  readonly #me: OwnKeys;
  readonly #ca: Certificate;
  readonly #pins: PinStore;
  readonly #fetch: KeysFetcher;
  readonly #cache = new Map<string, Promise<PeerLookup>>();

  constructor(me: OwnKeys, ca: Certificate, pins: PinStore, fetch: KeysFetcher) {
    this.#me = me;
    this.#ca = ca;
    this.#pins = pins;
    this.#fetch = fetch;
  }

  get me(): OwnKeys {
    return this.#me;
  }

  /** A peer's checked keys; one fetch per peer and session. */
  lookup(name: string): Promise<PeerLookup> {
    if (name === this.#me.name) {
      return Promise.resolve({
        kind: "ok",
        peer: this.#me,
        fingerprint: fingerprint(this.#me.keys),
      });
    }
    let lookup = this.#cache.get(name);
    if (lookup === undefined) {
      lookup = this.#resolve(name);
      this.#cache.set(name, lookup);
      // A failed fetch (connection lost) is not remembered.
      lookup.catch(() => this.#cache.delete(name));
    }
    return lookup;
  }

  /** Accepts the peer's current keys: pins them, whatever was pinned before. */
  async trust(name: string): Promise<PeerLookup> {
    this.#cache.delete(name);
    const lookup = await this.lookup(name);
    if (lookup.kind !== "changed") return lookup;
    await this.#pins.set(name, lookup.fingerprint);
    const trusted: PeerLookup = { kind: "ok", peer: lookup.peer, fingerprint: lookup.fingerprint };
    this.#cache.set(name, Promise.resolve(trusted));
    return trusted;
  }

  async #resolve(name: string): Promise<PeerLookup> {
    const reply = await this.#fetch(name);
    if (reply === null) return { kind: "unknown" };
    const checked = await checkKeys(reply, name, this.#ca);
    if (typeof checked === "string") return { kind: "invalid", reason: checked };
    const peer = new Peer(checked);
    const current = fingerprint(checked);
    const pinned = await this.#pins.get(name);
    if (pinned === null) {
      await this.#pins.set(name, current);
      return { kind: "ok", peer, fingerprint: current };
    }
    if (pinned !== current) return { kind: "changed", fingerprint: current, pinned, peer };
    return { kind: "ok", peer, fingerprint: current };
  }
}

/** The keys in a `keys` reply, if they are `name`'s by the CA and by the peer's own signature. */
async function checkKeys(reply: KeysReply, name: string, ca: Certificate) {
  if (reply.name !== name) return "the server answered for another user";
  const der = fromBase64Url(reply.certificate)!;
  let identity;
  try {
    identity = await verifyClientCertificate(der, ca);
  } catch (error) {
    if (error instanceof CertificateError) return error.message;
    throw error;
  }
  if (identity.name !== name) return "the certificate names another user";
  const keys = {
    name,
    identity: identity.publicKey,
    encryption: fromBase64Url(reply.encryption_key)!,
  };
  const weak = x25519KeyProblem(keys.encryption);
  if (weak !== null) return `the encryption key is unusable: ${weak}`;
  if (!verifyEncryptionKeyBinding(keys, fromBase64Url(reply.binding)!)) {
    return "the encryption key is not signed by the certificate's key";
  }
  return keys;
}

/** The public half of an X25519 private key in PEM, as DER SPKI. */
export function encryptionPublicKey(privatePem: string): Uint8Array {
  const key = nodeCrypto.createPublicKey(privatePem);
  return new Uint8Array(key.export({ format: "der", type: "spki" }) as Buffer);
}

/** The user's own keys from their credentials; the certificate gives the identity key. */
export function ownKeys(
  name: string,
  credentials: { certificate: string; key: string; encryptionKey: string },
): OwnKeys {
  const certificate = new x509.X509Certificate(credentials.certificate);
  return new OwnKeys(
    {
      name,
      identity: new Uint8Array(certificate.publicKey.rawData),
      encryption: encryptionPublicKey(credentials.encryptionKey),
    },
    credentials.key,
    credentials.encryptionKey,
  );
}
