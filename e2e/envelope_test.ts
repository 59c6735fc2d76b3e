import assert from "node:assert/strict";
import {
  openPrivateMessage,
  sealPrivateMessage,
  signPublicMessage,
  VerificationError,
  verifyPublicMessage,
} from "./envelope.ts";
import { fromBase64Url } from "./encoding.ts";
import {
  bindEncryptionKey,
  fingerprint,
  generateOwnKeys,
  OwnKeys,
  Peer,
  verifyEncryptionKeyBinding,
} from "./keys.ts";
import { decodeClientFrame, encodeFrame, messageLength } from "../protocol/frames.ts";
import { MAX_MESSAGE_CHARS } from "../protocol/limits.ts";
import { generator, SEED } from "../testing/fuzz.ts";

// Made once by testdata/make_vectors.py, an independent Python implementation.
const vectors = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/vectors.json", import.meta.url)),
);

type UserVector = {
  identity_private_pem: string;
  encryption_private_pem: string;
  identity_spki: string;
  encryption_spki: string;
  fingerprint: string;
};

function own(name: string): OwnKeys {
  const user: UserVector = vectors.users[name];
  return new OwnKeys(
    {
      name,
      identity: fromBase64Url(user.identity_spki)!,
      encryption: fromBase64Url(user.encryption_spki)!,
    },
    user.identity_private_pem,
    user.encryption_private_pem,
  );
}

const peer = (name: string) => new Peer(own(name).keys);

Deno.test("fingerprint() matches the vectors", () => {
  for (const name of Object.keys(vectors.users)) {
    assert.equal(fingerprint(own(name).keys), vectors.users[name].fingerprint, name);
  }
});

Deno.test("sealPrivateMessage() and signPublicMessage() reproduce the vectors byte for byte", () => {
  const seal = vectors.seal;
  const payload = sealPrivateMessage(own(seal.from), peer(seal.to), seal.text, {
    mid: fromBase64Url(seal.mid)!,
    nonce: fromBase64Url(seal.nonce)!,
    time: seal.time,
  });
  assert.equal(payload, seal.payload);
  const sign = vectors.sign;
  const signature = signPublicMessage(own(sign.from), sign.text, {
    mid: fromBase64Url(sign.mid)!,
    time: sign.time,
  });
  assert.equal(signature, sign.signature);
});

Deno.test("openPrivateMessage() accepts the valid vectors and refuses each altered one", () => {
  for (const vector of vectors.private) {
    const me = own(vector.reader);
    const counterpart = peer(vector.reader === vector.from ? vector.to : vector.from);
    const open = () =>
      openPrivateMessage(vector.payload, vector, peer(vector.from), me, counterpart);
    if (vector.text !== undefined) {
      assert.equal(open().text, vector.text, vector.name);
    } else {
      assert.throws(
        open,
        (error: unknown) => error instanceof VerificationError && error.message === vector.error,
        vector.name,
      );
    }
  }
});

Deno.test("verifyPublicMessage() accepts the valid vector and refuses each altered one", () => {
  for (const vector of vectors.public) {
    const check = () =>
      verifyPublicMessage(vector.signature, vector.from, vector.text, peer(vector.from));
    if (vector.ok) {
      assert.equal(check().text, vector.text, vector.name);
    } else {
      assert.throws(check, VerificationError, vector.name);
    }
  }
});

/** Code points a user may type: ASCII, Latin, CJK, right-to-left, combining marks, astral. */
const CODE_POINT_RANGES: Array<[number, number]> = [
  [0x20, 0x7e],
  [0xa0, 0x24f],
  [0x0590, 0x06ff],
  [0x0300, 0x036f],
  [0x4e00, 0x9fff],
  [0xe000, 0xfffd], // private use and the last of the BMP, above the surrogates
  [0x1f300, 0x1faff], // emoji
  [0x10000, 0x10ffff], // the whole astral range
];

Deno.test(`open(seal(m)) = m for random texts of every length, seed ${SEED}: both directions, both readers`, () => {
  const random = generator(SEED ^ 0xe2e);
  const alice = generateOwnKeys("alice");
  const bob = generateOwnKeys("bob");
  // The edges first: empty, one character, the limit and one below, in the widest characters.
  const lengths = [0, 1, MAX_MESSAGE_CHARS - 1, MAX_MESSAGE_CHARS];
  for (let i = 0; i < 300; i++) {
    const length = i < lengths.length ? lengths[i] : random.int(MAX_MESSAGE_CHARS + 1);
    const astral = i < lengths.length;
    const text = Array.from({ length }, () => {
      const [low, high] = astral ? [0x10000, 0x10ffff] : random.pick(CODE_POINT_RANGES);
      return String.fromCodePoint(low + random.int(high - low + 1));
    }).join("");
    assert.equal(messageLength(text), length);
    const [sender, recipient] = random.int(2) === 0 ? [alice, bob] : [bob, alice];
    const route = { from: sender.name, to: recipient.name };
    const payload = sealPrivateMessage(sender, new Peer(recipient.keys), text);
    const senderPeer = new Peer(sender.keys);
    const recipientPeer = new Peer(recipient.keys);
    const context = `seed ${SEED}, case ${i}, length ${length}`;
    assert.equal(
      openPrivateMessage(payload, route, senderPeer, recipient, senderPeer).text,
      text,
      context,
    );
    assert.equal(
      openPrivateMessage(payload, route, senderPeer, sender, recipientPeer).text,
      text,
      context,
    );
    const signature = signPublicMessage(sender, text);
    assert.equal(verifyPublicMessage(signature, sender.name, text, senderPeer).text, text, context);
    // Whatever the text, its envelope fits a frame the server accepts.
    const frame = encodeFrame({ type: "private", id: 1, to: recipient.name, payload });
    assert.deepEqual(
      decodeClientFrame(new TextEncoder().encode(frame.trimEnd())),
      { type: "private", id: 1, to: recipient.name, payload },
      context,
    );
    if (length > 0) {
      const post = encodeFrame({ type: "public", id: 2, text, signature });
      assert.equal(decodeClientFrame(new TextEncoder().encode(post.trimEnd())).type, "public");
    }
  }
});

Deno.test("bindEncryptionKey() matches the vectors; a binding verifies only for its name and keys", () => {
  const alice = own("alice");
  const bob = own("bob");
  const binding = fromBase64Url(vectors.users.alice.binding)!;
  assert.deepEqual(bindEncryptionKey(alice), binding);
  assert.ok(verifyEncryptionKeyBinding(alice.keys, binding));
  // Alice's binding does not make her encryption key bob's, nor bob's key hers.
  assert.ok(!verifyEncryptionKeyBinding({ ...alice.keys, name: "bob" }, binding));
  assert.ok(
    !verifyEncryptionKeyBinding({ ...alice.keys, encryption: bob.keys.encryption }, binding),
  );
  assert.ok(!verifyEncryptionKeyBinding({ ...alice.keys, identity: bob.keys.identity }, binding));
  const flipped = binding.slice();
  flipped[0] ^= 1;
  assert.ok(!verifyEncryptionKeyBinding(alice.keys, flipped));
  assert.ok(!verifyEncryptionKeyBinding(alice.keys, binding.subarray(0, 63)));
  // An Ed25519 key where the X25519 key belongs is refused before any signature check.
  assert.ok(
    !verifyEncryptionKeyBinding({ ...alice.keys, encryption: alice.keys.identity }, binding),
  );
});
