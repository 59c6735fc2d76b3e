/**
 * Hostile `keys` replies never crash the client and never yield keys that
 * are not the peer's: a valid reply is mutated inside (the certificate's DER,
 * the encryption key and the binding behind their base64url, the name), goes
 * through the frame decoder as it would off the wire, then through
 * PeerDirectory's checks (CA, name, binding, pin). Anything accepted is the
 * genuine keys. The seed is in the test's name (FUZZ_SEED=n replays).
 */

import assert from "node:assert/strict";
import { PeerDirectory } from "./peers.ts";
import type { PinStore } from "./pins.ts";
import { generateOwnKeys } from "../e2e/keys.ts";
import { decodeServerFrame, type KeysReply, ProtocolError } from "../protocol/frames.ts";
import { x509 } from "../pki/x509.ts";
import { dataPaths } from "../pki/paths.ts";
import { makeDataDir } from "../testing/chat.ts";
import { keysReply, mintIdentity } from "../testing/identities.ts";
import { generator, inputs, mutateFields, SEED } from "../testing/fuzz.ts";

/** Pins in memory: each lookup starts with none, so valid keys are pinned on first sight. */
function freshPins(): PinStore {
  const pins = new Map<string, string>();
  return {
    get: (name: string) => Promise.resolve(pins.get(name) ?? null),
    set: (name: string, value: string) => Promise.resolve(void pins.set(name, value)),
  } as unknown as PinStore;
}

Deno.test(`fuzz seed ${SEED}: keys replies mutated inside are refused or are the peer's own keys`, async () => {
  const dir = await makeDataDir();
  try {
    const random = generator(SEED ^ 0x4e75);
    const ca = new x509.X509Certificate(await Deno.readTextFile(dataPaths(dir).caCertificate));
    const alice = await mintIdentity(dir, "alice");
    const me = generateOwnKeys("bob");
    const original = keysReply(alice, 1);
    const outcomes = new Map<string, number>();
    const tally = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const n = inputs(3_000);
    for (let i = 0; i < n; i++) {
      const mutated = JSON.stringify(mutateFields(random, { ...original }));
      const context = `seed ${SEED}, input ${i}: ${mutated.slice(0, 300)}`;
      let reply: KeysReply;
      try {
        const frame = decodeServerFrame(new TextEncoder().encode(mutated));
        if (frame.type !== "keys") throw new ProtocolError("malformed", "not a keys reply");
        reply = frame;
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw new Error(`${context}: ${error}`);
        tally("frame refused");
        continue;
      }
      const peers = new PeerDirectory(me, ca, freshPins(), () => Promise.resolve(reply));
      let lookup;
      try {
        lookup = await peers.lookup("alice");
      } catch (error) {
        throw new Error(`${context}: ${error}`);
      }
      if (lookup.kind === "ok") {
        assert.deepEqual(lookup.peer.keys, alice.keys.keys, context);
        tally("accepted");
      } else {
        assert.equal(lookup.kind, "invalid", context);
        tally(lookup.kind === "invalid" ? lookup.reason : lookup.kind);
      }
    }
    console.log(JSON.stringify([...outcomes]));
    // Past the frame decoder, into the certificate, name and binding checks.
    assert.ok((outcomes.get("the server answered for another user") ?? 0) > 0);
    assert.ok((outcomes.get("the encryption key is not signed by the certificate's key") ?? 0) > 0);
    assert.ok([...outcomes.keys()].some((reason) => reason.startsWith("certificate ")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
