/**
 * Cost of each end-to-end operation (e2e/README.md), with `deno bench`:
 * seal, open, sign and verify of a 100-character message, and the pair-key
 * derivation that open and seal cache per peer.
 */

import {
  openPrivateMessage,
  sealPrivateMessage,
  signPublicMessage,
  verifyPublicMessage,
} from "../e2e/envelope.ts";
import { generateOwnKeys, Peer } from "../e2e/keys.ts";

const alice = generateOwnKeys("alice");
const bob = generateOwnKeys("bob");
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

let peers = 0;
Deno.bench("derive a pair key (once per peer)", { group: "private" }, () => {
  // A peer of another name each time, so the cache never answers.
  bob.pairKey(new Peer({ ...alice.keys, name: `alice${peers++}` }));
});

Deno.bench("sign a public message", { group: "public" }, () => {
  signPublicMessage(alice, text);
});

Deno.bench("verify a public message", { group: "public" }, () => {
  verifyPublicMessage(signature, "alice", text, alicePeer);
});
