/**
 * Messages this client has already verified, so that a history is checked
 * once, not at every login (e2e/README.md, "Cost"). For each verified
 * message it keeps a 128-bit digest of everything the signature covered and
 * of the sender's pinned fingerprint, in `clientkeys/ME/verified`: the same
 * bytes from the same pinned key need no second Ed25519 check. A private
 * message is still decrypted, which authenticates it again (AES-GCM, header
 * in the associated data). Anything else, or any change, is verified in full.
 *
 * Like the pins beside it, the file is trusted local state: whoever can write
 * to clientkeys/ME can also change the pins.
 */

import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import { dirname, join } from "node:path";
import { assertNoSymlinkBelow } from "../cli/files.ts";

const CACHE_FILE = "verified";
const DIGEST_BYTES = 16;
const LABEL = new TextEncoder().encode("chat/verified/v1\0");
/** Flush new digests once this many are waiting. */
const FLUSH_EVERY = 1000;

export class VerifiedCache {
  readonly #path: string;
  #known: Set<string> | null = null;
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();

  /** `folder` is the user's own folder, `clientkeys/ME`. */
  constructor(folder: string) {
    this.#path = join(folder, CACHE_FILE);
  }

  /** The digest (hex) of a message's signed content under its sender's fingerprint. */
  static digest(fingerprint: string, fields: readonly string[]): string {
    const hash = nodeCrypto.createHash("sha256").update(LABEL).update(fingerprint);
    for (const field of fields) hash.update("\0").update(field);
    return hash.digest("hex").slice(0, DIGEST_BYTES * 2);
  }

  async has(digest: string): Promise<boolean> {
    return (await this.#load()).has(digest);
  }

  /** Remembers a digest; written to the file in batches. */
  async add(digest: string): Promise<void> {
    const known = await this.#load();
    if (known.has(digest)) return;
    known.add(digest);
    this.#pending.push(digest);
    if (this.#pending.length >= FLUSH_EVERY) this.flush();
  }

  /** Appends waiting digests to the file; resolves when written. */
  flush(): Promise<void> {
    if (this.#pending.length > 0) {
      const bytes = new Uint8Array(Buffer.from(this.#pending.join(""), "hex"));
      this.#pending = [];
      this.#writing = this.#writing.then(() =>
        Deno.writeFile(this.#path, bytes, { append: true, mode: 0o600 })
      ).catch(() => {
        // A cache that cannot be written only costs time at the next login.
      });
    }
    return this.#writing;
  }

  async #load(): Promise<Set<string>> {
    if (this.#known !== null) return this.#known;
    assertNoSymlinkBelow(dirname(dirname(this.#path)), this.#path);
    const known = new Set<string>();
    try {
      const hex = Buffer.from(await Deno.readFile(this.#path)).toString("hex");
      for (let i = 0; i + DIGEST_BYTES * 2 <= hex.length; i += DIGEST_BYTES * 2) {
        known.add(hex.slice(i, i + DIGEST_BYTES * 2));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    // Two lookups at once read the file once.
    return this.#known ??= known;
  }
}
