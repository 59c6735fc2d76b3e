/**
 * The client's key store, `clientkeys/` (SPEC section 1):
 *
 *   clientkeys/ca.crt          the CA's certificate (public copy)
 *   clientkeys/NAME/cert.pem   NAME's certificate
 *   clientkeys/NAME/key.pem    NAME's private keys, mode 0600: two PKCS#8 PEM
 *                              blocks, the Ed25519 identity key (the
 *                              certificate's) then the X25519 encryption key; or
 *   clientkeys/NAME/key.age    the same, encrypted with the password (age
 *                              format, scrypt: age-encryption.org/v1)
 *
 * A registration is staged in a hidden `.pending-NAME-*` folder and moved to
 * `NAME/` only when the server accepted it. Names are validated before they
 * become paths.
 *
 * Enrolment from a machine without the TTP (SPEC section 1) keeps, until
 * the registration completes:
 *
 *   clientkeys/NAME.csr        the certificate request, for the TTP
 *   clientkeys/.enrol-NAME/    the keys it was made for (key.pem or key.age)
 *   clientkeys/NAME.crt        the TTP's answer, put there by the user
 */

import { dirname, join } from "node:path";
import { assertNoSymlinkBelow } from "../cli/files.ts";
import { Decrypter, Encrypter } from "age-encryption";
import { isValidName } from "../protocol/names.ts";
import type { Credentials } from "./connection.ts";

/** age's default scrypt work factor, 2^18: about a second here, memory-hard (128 MiB). */
export const SCRYPT_WORK_FACTOR = 18;

const CERTIFICATE_FILE = "cert.pem";
const PLAIN_KEY_FILE = "key.pem";
const SEALED_KEY_FILE = "key.age";
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Wrong name, password or files: the user sees `error: invalid credentials`. */
export class CredentialsError extends Error {
  override name = "CredentialsError";
}

/** The key is encrypted and no password was given: the client may ask for one. */
export class PasswordNeededError extends CredentialsError {
  override name = "PasswordNeededError";
}

/** A key folder without all its files: a write that was cut short. */
class IncompleteKeysError extends CredentialsError {
  override name = "IncompleteKeysError";
}

export interface StagedRegistration {
  /** Makes the staged keys the user's keys. */
  commit(): Promise<void>;
  /** Removes the staged keys. */
  abandon(): Promise<void>;
}

/** Keys of a registration that was started and whose outcome is not known yet. */
export interface StagedKeys {
  credentials: Credentials;
  registration: StagedRegistration;
}

export class KeyStore {
  constructor(readonly dir: string) {}

  get caCertificatePath(): string {
    return join(this.dir, "ca.crt");
  }

  async caCertificate(): Promise<string> {
    assertNoSymlinkBelow(this.dir, this.caCertificatePath);
    return await Deno.readTextFile(this.caCertificatePath);
  }

  /**
   * Loads a user's certificate and keys, decrypting them with `password`.
   * Without a `NAME/` folder, the newest staged registration of that name is
   * tried (`staged` says where): a client killed after the server accepted
   * its registration but before it moved the keys into place left them there.
   */
  async load(name: string, password?: string): Promise<Credentials & { staged?: string }> {
    const folder = this.#userFolder(name);
    if (!(await exists(folder))) {
      const staged = (await this.#staged(name))[0];
      if (staged === undefined) throw new CredentialsError("no keys for this user");
      return { ...(await this.#loadFrom(staged, password)), staged };
    }
    return await this.#loadFrom(folder, password);
  }

  /**
   * The newest staged registration of `name`, if any, with its keys
   * (decrypted with `password`; a wrong one is a CredentialsError): a
   * registration whose `ok` never arrived is finished with these keys.
   */
  async staged(name: string, password?: string): Promise<StagedKeys | null> {
    for (const folder of await this.#staged(name)) {
      let credentials: Credentials;
      try {
        credentials = await this.#loadFrom(folder, password);
      } catch (error) {
        // Staged by a client killed before it wrote them all: nothing to finish.
        if (!(error instanceof IncompleteKeysError)) throw error;
        await Deno.remove(folder, { recursive: true }).catch(() => {});
        continue;
      }
      return { credentials, registration: this.#registration(name, folder) };
    }
    return null;
  }

  /** Makes a staged registration, which the server has accepted, the user's keys. */
  async adopt(name: string, staged: string): Promise<void> {
    const folder = this.#userFolder(name);
    if (!(await exists(folder))) await Deno.rename(staged, folder);
  }

  /** Removes the staged registrations of `name` left by clients that did not finish. */
  async removeStaged(name: string): Promise<void> {
    for (const staged of await this.#staged(name)) {
      await Deno.remove(staged, { recursive: true }).catch(() => {});
    }
  }

  /** Staging folders of `name`, newest first. */
  async #staged(name: string): Promise<string[]> {
    this.#userFolder(name); // validates the name
    const pattern = new RegExp(`^\\.pending-${name}-[0-9a-f]{12}$`);
    const found: Array<{ path: string; time: number }> = [];
    for await (const entry of Deno.readDir(this.dir)) {
      if (!entry.isDirectory || !pattern.test(entry.name)) continue;
      const path = join(this.dir, entry.name);
      found.push({ path, time: (await Deno.lstat(path)).mtime?.getTime() ?? 0 });
    }
    return found.sort((a, b) => b.time - a.time).map((f) => f.path);
  }

  async #loadFrom(folder: string, password?: string): Promise<Credentials> {
    const certificate = await readSmall(join(folder, CERTIFICATE_FILE));
    if (certificate === null) throw new IncompleteKeysError("no keys for this user");
    const keys = await readKeys(folder, password);
    // A password for a key that has none would give a false sense of safety.
    if (!keys.sealed && password !== undefined) throw new CredentialsError("key has no password");
    return { certificate, key: keys.key, encryptionKey: keys.encryptionKey };
  }

  /** The files of `name`'s enrolment through files (see the module comment). */
  enrolmentFiles(name: string): { request: string; certificate: string } {
    this.#userFolder(name); // validates the name
    return { request: join(this.dir, `${name}.csr`), certificate: join(this.dir, `${name}.crt`) };
  }

  /**
   * Starts an enrolment: keeps the keys (sealed with `password` if given)
   * and writes the request for the TTP. Never overwrites either.
   */
  async startEnrolment(
    name: string,
    keys: { key: string; encryptionKey: string },
    requestPem: string,
    password?: string,
  ): Promise<void> {
    const folder = this.#enrolmentFolder(name);
    await Deno.mkdir(folder, { mode: 0o700 });
    try {
      await writeKeys(folder, keys, password);
      const { request } = this.enrolmentFiles(name);
      assertNoSymlinkBelow(this.dir, request);
      await writeNew(request, requestPem, 0o644);
    } catch (error) {
      await Deno.remove(folder, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /**
   * The pending enrolment of `name`, or null: its keys (decrypted with
   * `password`), its request, and the TTP's certificate once the user put it
   * in place (null until then).
   */
  async loadEnrolment(name: string, password?: string): Promise<
    | null
    | {
      key: string;
      encryptionKey: string;
      sealed: boolean;
      request: string | null;
      certificate: string | null;
    }
  > {
    const folder = this.#enrolmentFolder(name);
    if (!(await exists(folder))) return null;
    const keys = await readKeys(folder, password);
    const files = this.enrolmentFiles(name);
    return {
      ...keys,
      request: await readSmall(files.request, this.dir),
      certificate: await readSmall(files.certificate, this.dir),
    };
  }

  /** The enrolment completed: its request, keys and certificate file go (the keys live on in NAME/). */
  async endEnrolment(name: string): Promise<void> {
    const files = this.enrolmentFiles(name);
    for (const path of [files.request, files.certificate, this.#enrolmentFolder(name)]) {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    }
  }

  #enrolmentFolder(name: string): string {
    this.#userFolder(name); // validates the name
    const folder = join(this.dir, `.enrol-${name}`);
    assertNoSymlinkBelow(this.dir, folder);
    return folder;
  }

  /** Writes new keys in a staging folder, the key encrypted when there is a password. */
  async stage(
    name: string,
    credentials: Credentials,
    password?: string,
  ): Promise<StagedRegistration> {
    this.#userFolder(name); // validates the name
    const random = Array.from(
      crypto.getRandomValues(new Uint8Array(6)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const staging = join(this.dir, `.pending-${name}-${random}`);
    assertNoSymlinkBelow(this.dir, staging);
    await Deno.mkdir(staging, { mode: 0o700 });
    try {
      await writeNew(join(staging, CERTIFICATE_FILE), credentials.certificate, 0o644);
      await writeKeys(staging, credentials, password);
    } catch (error) {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
      throw error;
    }
    return this.#registration(name, staging);
  }

  #registration(name: string, staging: string): StagedRegistration {
    const target = this.#userFolder(name);
    return {
      commit: async () => {
        // Keys of an earlier registration of this name are kept, set aside.
        if (await exists(target)) {
          await Deno.rename(target, join(this.dir, `.replaced-${name}-${Date.now()}`));
        }
        await Deno.rename(staging, target);
      },
      abandon: async () => {
        await Deno.remove(staging, { recursive: true });
      },
    };
  }

  /** `clientkeys/NAME`, for the user's own files (key pins). */
  userFolder(name: string): string {
    return this.#userFolder(name);
  }

  #userFolder(name: string): string {
    if (!isValidName(name)) throw new CredentialsError("invalid user name");
    const folder = join(this.dir, name);
    assertNoSymlinkBelow(this.dir, folder);
    return folder;
  }
}

const PEM_BLOCK =
  /-----BEGIN PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PRIVATE KEY-----\r?\n?/g;

/** Writes a user's two private keys in `folder`: key.pem, or key.age sealed with `password`. */
async function writeKeys(
  folder: string,
  credentials: { key: string; encryptionKey: string },
  password?: string,
): Promise<void> {
  const keys = credentials.key + credentials.encryptionKey;
  if (password === undefined) return await writeNew(join(folder, PLAIN_KEY_FILE), keys, 0o600);
  const encrypter = new Encrypter();
  encrypter.setPassphrase(password);
  encrypter.setScryptWorkFactor(SCRYPT_WORK_FACTOR);
  await writeNew(join(folder, SEALED_KEY_FILE), await encrypter.encrypt(keys), 0o600);
}

/** Reads the two private keys of `folder`, decrypting key.age with `password`. */
async function readKeys(
  folder: string,
  password?: string,
): Promise<{ key: string; encryptionKey: string; sealed: boolean }> {
  const sealed = await readSmallBytes(join(folder, SEALED_KEY_FILE));
  if (sealed !== null) {
    if (password === undefined) throw new PasswordNeededError("key needs a password");
    const decrypter = new Decrypter();
    decrypter.addPassphrase(password);
    let keys: string;
    try {
      keys = await decrypter.decrypt(sealed, "text");
    } catch {
      throw new CredentialsError("wrong password");
    }
    return { ...splitKeyFile(keys), sealed: true };
  }
  const keys = await readSmall(join(folder, PLAIN_KEY_FILE));
  if (keys === null) throw new IncompleteKeysError("no keys for this user");
  return { ...splitKeyFile(keys), sealed: false };
}

/** The two PEM blocks of a key file: identity key, then encryption key. */
function splitKeyFile(text: string): { key: string; encryptionKey: string } {
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length !== 2) throw new IncompleteKeysError("key file does not hold two keys");
  const [key, encryptionKey] = blocks.map((block) => block.endsWith("\n") ? block : block + "\n");
  return { key, encryptionKey };
}

/** A small file's bytes, or null when it does not exist; no link may lead out of `base`. */
async function readSmallBytes(
  path: string,
  base = dirname(dirname(path)),
): Promise<Uint8Array | null> {
  assertNoSymlinkBelow(base, path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    const info = await file.stat();
    if (!info.isFile || info.size > MAX_KEY_FILE_BYTES) {
      throw new CredentialsError(`"${path}" is not a key file`);
    }
    const data = new Uint8Array(info.size);
    let offset = 0;
    while (offset < data.byteLength) {
      const n = await file.read(data.subarray(offset));
      if (n === null) break;
      offset += n;
    }
    return data.subarray(0, offset);
  } finally {
    file.close();
  }
}

async function readSmall(path: string, base?: string): Promise<string | null> {
  const bytes = await readSmallBytes(path, base);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

async function writeNew(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await Deno.writeFile(path, bytes, { createNew: true, mode });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
