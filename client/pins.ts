/**
 * Key pins (trust on first use, e2e/README.md): the fingerprint of each
 * peer's keys as first seen, in `clientkeys/ME/peers.json`. Written whole to
 * a temporary file and renamed, so a crash never leaves half a file.
 */

import { dirname, join } from "node:path";
import { assertNoSymlinkBelow } from "../cli/files.ts";
import { isValidName } from "../protocol/names.ts";

const PINS_FILE = "peers.json";
const MAX_PINS_FILE_BYTES = 4 * 1024 * 1024;

interface PinsFile {
  version: 1;
  /** Peer name to fingerprint. */
  peers: Record<string, string>;
}

export class PinStore {
  readonly #path: string;
  readonly #folder: string;
  #pins: Map<string, string> | null = null;

  /** `folder` is the user's own folder, `clientkeys/ME`. */
  constructor(folder: string) {
    this.#folder = folder;
    this.#path = join(folder, PINS_FILE);
  }

  async get(name: string): Promise<string | null> {
    return (await this.#load()).get(name) ?? null;
  }

  async set(name: string, fingerprint: string): Promise<void> {
    if (!isValidName(name)) throw new Error("invalid peer name");
    const pins = await this.#load();
    pins.set(name, fingerprint);
    const file: PinsFile = { version: 1, peers: Object.fromEntries(pins) };
    const temporary = join(this.#folder, `.${PINS_FILE}.${crypto.randomUUID()}`);
    await Deno.writeTextFile(temporary, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
    await Deno.rename(temporary, this.#path);
  }

  async #load(): Promise<Map<string, string>> {
    if (this.#pins !== null) return this.#pins;
    assertNoSymlinkBelow(dirname(this.#folder), this.#path);
    let text: string;
    try {
      const info = await Deno.stat(this.#path);
      if (info.size > MAX_PINS_FILE_BYTES) throw new Error(`"${this.#path}" is too large`);
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      return this.#pins = new Map();
    }
    const file = JSON.parse(text) as PinsFile;
    if (file?.version !== 1 || typeof file.peers !== "object" || file.peers === null) {
      throw new Error(`"${this.#path}" is not a pins file`);
    }
    this.#pins = new Map(
      Object.entries(file.peers).filter(([name, value]) =>
        isValidName(name) && typeof value === "string"
      ),
    );
    return this.#pins;
  }
}
