#!/usr/bin/env python3
"""Test vectors for e2e/envelope.ts, made by an independent implementation.

This is the construction of e2e/README.md written again in Python with the
`cryptography` package, so the TypeScript code is checked against another
implementation, not against itself. Run once; the output is committed:

    python3 e2e/testdata/make_vectors.py > e2e/testdata/vectors.json
"""

import base64
import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def labelled(label: str, fields) -> bytes:
    return (label + "\0" + dumps(fields)).encode()


class User:
    def __init__(self, name: str, seed: int):
        self.name = name
        self.identity = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        self.encryption = X25519PrivateKey.from_private_bytes(bytes([seed + 1]) * 32)
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        self.identity_spki = self.identity.public_key().public_bytes(*spki)
        self.encryption_spki = self.encryption.public_key().public_bytes(*spki)

    def pem(self, key) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def json(self):
        return {
            "identity_private_pem": self.pem(self.identity),
            "encryption_private_pem": self.pem(self.encryption),
            "identity_spki": b64u(self.identity_spki),
            "encryption_spki": b64u(self.encryption_spki),
            "fingerprint": fingerprint(self),
            "binding": b64u(self.identity.sign(
                labelled("chat/e2e/v1/encryption-key", [self.name, b64u(self.encryption_spki)]))),
        }


def fingerprint(user: User) -> str:
    digest = hashlib.sha256(b"chat/e2e/v1/fingerprint\0" + user.identity_spki + user.encryption_spki)
    hexed = digest.hexdigest()
    return " ".join(hexed[i:i + 4] for i in range(0, 64, 4))


def pair_key(me: User, peer: User) -> bytes:
    secret = me.encryption.exchange(peer.encryption.public_key())
    parties = sorted([[me.name, b64u(me.encryption_spki)], [peer.name, b64u(peer.encryption_spki)]])
    return HKDF(SHA256(), 32, b"", labelled("chat/e2e/v1/pair", parties)).derive(secret)


def seal(sender: User, recipient: User, text: str, mid: bytes, nonce: bytes, time: int,
         version: int = 1, signer: User | None = None, legacy: bool = False) -> str:
    """The compact form (protocol version 2); `legacy`: the JSON form of protocol version 1."""
    header = [version, b64u(mid), sender.name, recipient.name, time]
    ct = AESGCM(pair_key(sender, recipient)).encrypt(
        nonce, text.encode(), labelled("chat/e2e/v1/private", header))
    signed = labelled("chat/e2e/v1/private", header + [b64u(nonce), b64u(ct)])
    sig = (signer or sender).identity.sign(signed)
    if legacy:
        return dumps({
            "v": version, "mid": b64u(mid), "from": sender.name, "to": recipient.name,
            "time": time, "nonce": b64u(nonce), "ct": b64u(ct), "sig": b64u(sig),
        })
    return ".".join([str(version), b64u(mid), str(time), b64u(nonce), b64u(ct), b64u(sig)])


def sign_public(sender: User, text: str, mid: bytes, time: int, signer: User | None = None,
                legacy: bool = False) -> str:
    signed = labelled("chat/e2e/v1/public", [1, b64u(mid), sender.name, time, text])
    sig = (signer or sender).identity.sign(signed)
    if legacy:
        return dumps({"v": 1, "mid": b64u(mid), "time": time, "sig": b64u(sig)})
    return ".".join(["1", b64u(mid), str(time), b64u(sig)])


PRIVATE_FIELDS = ["v", "mid", "time", "nonce", "ct", "sig"]
PUBLIC_FIELDS = ["v", "mid", "time", "sig"]


def flip(text: str, field: str) -> str:
    """The envelope with the first bit of one base64url field flipped."""
    parts = text.split(".")
    index = (PRIVATE_FIELDS if len(parts) == len(PRIVATE_FIELDS) else PUBLIC_FIELDS).index(field)
    raw = bytearray(base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4)))
    raw[0] ^= 0x01
    parts[index] = b64u(bytes(raw))
    return ".".join(parts)


def main():
    alice, bob, carol, mallory = User("alice", 1), User("bob", 3), User("carol", 5), User("mallory", 7)
    mid, nonce, time = bytes(range(16)), bytes(range(100, 112)), 1764667800000
    text = "hey bob, this is private: ünïcödé 😀"
    good = seal(alice, bob, text, mid, nonce, time)
    to_self = seal(alice, alice, "note to self", mid, nonce, time)
    private = [
        {"name": "valid, read by the recipient", "reader": "bob", "from": "alice", "to": "bob",
         "payload": good, "text": text},
        {"name": "valid, read by the sender", "reader": "alice", "from": "alice", "to": "bob",
         "payload": good, "text": text},
        {"name": "valid, to oneself", "reader": "alice", "from": "alice", "to": "alice",
         "payload": to_self, "text": "note to self"},
        {"name": "flipped ciphertext bit", "reader": "bob", "from": "alice", "to": "bob",
         "payload": flip(good, "ct"), "error": "bad signature"},
        {"name": "flipped signature bit", "reader": "bob", "from": "alice", "to": "bob",
         "payload": flip(good, "sig"), "error": "bad signature"},
        {"name": "delivered to another recipient", "reader": "carol", "from": "alice", "to": "carol",
         "payload": good, "error": "bad signature"},
        {"name": "reflected: delivered as from bob to alice", "reader": "alice", "from": "bob",
         "to": "alice", "payload": good, "error": "bad signature"},
        {"name": "re-addressed to the sender herself", "reader": "alice", "from": "alice",
         "to": "alice", "payload": good, "error": "bad signature"},
        {"name": "signed time past the last date a clock can show", "reader": "bob", "from": "alice",
         "to": "bob", "payload": seal(alice, bob, text, mid, nonce, 8640000000000001),
         "error": "malformed envelope"},
        {"name": "valid, JSON form of protocol version 1 (stored history)", "reader": "bob",
         "from": "alice", "to": "bob",
         "payload": seal(alice, bob, text, mid, nonce, time, legacy=True), "text": text},
        {"name": "JSON form naming other parties than its delivery", "reader": "carol",
         "from": "alice", "to": "carol",
         "payload": seal(alice, bob, text, mid, nonce, time, legacy=True),
         "error": "envelope names other parties than its delivery"},
        {"name": "read by a third party", "reader": "carol", "from": "alice", "to": "bob",
         "payload": good, "error": "not a party"},
        {"name": "truncated envelope", "reader": "bob", "from": "alice", "to": "bob",
         "payload": good[: len(good) // 2], "error": "malformed envelope"},
        {"name": "unknown version", "reader": "bob", "from": "alice", "to": "bob",
         "payload": seal(alice, bob, text, mid, nonce, time, version=2),
         "error": "unknown envelope version"},
        {"name": "signed by another key", "reader": "bob", "from": "alice", "to": "bob",
         "payload": seal(alice, bob, text, mid, nonce, time, signer=mallory), "error": "bad signature"},
        {"name": "encrypted under another pair key, validly signed", "reader": "bob",
         "from": "alice", "to": "bob",
         "payload": resign_with_other_key(alice, bob, carol, text, mid, nonce, time),
         "error": "cannot decrypt"},
    ]
    public_text = "this is a message"
    public_sig = sign_public(alice, public_text, mid, time)
    public = [
        {"name": "valid", "from": "alice", "text": public_text, "signature": public_sig, "ok": True},
        {"name": "altered text", "from": "alice", "text": public_text + "!", "signature": public_sig,
         "error": "bad signature"},
        {"name": "claimed by another sender", "from": "bob", "text": public_text,
         "signature": public_sig, "error": "bad signature"},
        {"name": "signed by another key", "from": "alice", "text": public_text,
         "signature": sign_public(alice, public_text, mid, time, signer=mallory),
         "error": "bad signature"},
        {"name": "flipped signature bit", "from": "alice", "text": public_text,
         "signature": flip(public_sig, "sig"), "error": "bad signature"},
        {"name": "valid, JSON form of protocol version 1 (stored history)", "from": "alice",
         "text": public_text, "signature": sign_public(alice, public_text, mid, time, legacy=True),
         "ok": True},
    ]
    print(json.dumps({
        "comment": "made by e2e/testdata/make_vectors.py (Python, cryptography); do not edit",
        "users": {u.name: u.json() for u in (alice, bob, carol, mallory)},
        "seal": {"from": "alice", "to": "bob", "text": text, "mid": b64u(mid), "nonce": b64u(nonce),
                 "time": time, "payload": good},
        "sign": {"from": "alice", "text": public_text, "mid": b64u(mid), "time": time,
                 "signature": public_sig},
        "private": private,
        "public": public,
    }, indent=2, ensure_ascii=False))


def resign_with_other_key(sender: User, recipient: User, other: User, text, mid, nonce, time) -> str:
    """Ciphertext made under the sender-`other` pair key, then signed as sender-to-recipient."""
    header = [1, b64u(mid), sender.name, recipient.name, time]
    ct = AESGCM(pair_key(sender, other)).encrypt(nonce, text.encode(),
                                                labelled("chat/e2e/v1/private", header))
    signed = labelled("chat/e2e/v1/private", header + [b64u(nonce), b64u(ct)])
    return ".".join(["1", b64u(mid), str(time), b64u(nonce), b64u(ct),
                     b64u(sender.identity.sign(signed))])


if __name__ == "__main__":
    main()
