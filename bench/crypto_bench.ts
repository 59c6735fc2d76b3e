/**
 * Cost of each end-to-end operation (e2e/README.md), with `deno bench`:
 * seal, open, sign and verify of a 100-character message, and the pair-key
 * derivation that open and seal cache per peer.
 */

import nodeCrypto from "node:crypto";
import {
  openPrivateMessage,
  sealPrivateMessage,
  signPublicMessage,
  verifyPublicMessage,
} from "../e2e/envelope.ts";
import { generateEncryptionKeyPair, OwnKeys, Peer } from "../e2e/keys.ts";

function keyMaterial(name: string) {
  const identity = nodeCrypto.generateKeyPairSync("ed25519");
  const encryption = generateEncryptionKeyPair();
  return {
    keys: {
      name,
      identity: new Uint8Array(identity.publicKey.export({ format: "der", type: "spki" })),
      encryption: encryption.publicKey,
    },
    identityPem: identity.privateKey.export({ format: "pem", type: "pkcs8" }) as string,
    encryptionPem: encryption.privatePem,
  };
}

const own = (m: ReturnType<typeof keyMaterial>) =>
  new OwnKeys(m.keys, m.identityPem, m.encryptionPem);
const bobMaterial = keyMaterial("bob");
const alice = own(keyMaterial("alice"));
const bob = own(bobMaterial);
const alicePeer = new Peer(alice.keys);
const bobPeer = new Peer(bob.keys);
const text = "x".repeat(100);
const sealed = sealPrivateMessage(alice, bobPeer, text);
const signature = signPublicMessage(alice, text);
const route = { from: "alice", to: "bob" };

Deno.bench("seal a private message (pair key cached)", { group: "private" }, () => {
  sealPrivateMessage(alice, bobPeer, text);
});

Deno.bench("open a private message (pair key cached)", { group: "private" }, () => {
  openPrivateMessage(sealed, route, alicePeer, bob, alicePeer);
});

Deno.bench("load own keys and derive a pair key (once per peer)", { group: "private" }, () => {
  own(bobMaterial).pairKey(alicePeer);
});

Deno.bench("sign a public message", { group: "public" }, () => {
  signPublicMessage(alice, text);
});

Deno.bench("verify a public message", { group: "public" }, () => {
  verifyPublicMessage(signature, "alice", text, alicePeer);
});
