/**
 * Registration's key ceremony (SPEC section 4, "PKI"): the client makes its
 * own key pair and a certificate request, and has the TTP sign it by running
 * `chat ca sign` as a separate process: "visiting the TTP in person". The
 * client never reads ttpkeys/; the TTP process never sees the private key.
 * The certificate that comes back is checked before it is kept.
 *
 * Where the TTP is not on this machine, the same ceremony goes through files
 * (SPEC section 1): the request is written out, the TTP signs it wherever it
 * is, and the certificate it returns completes the registration with the key
 * made the first time (client/client.ts, client/store.ts).
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { createRequest, verifyClientCertificate } from "../pki/certificates.ts";
import {
  equalBytes,
  exportPrivateKeyPem,
  generateKeyPair,
  publicKeyOfPrivatePem,
} from "../pki/keys.ts";
import { x509 } from "../pki/x509.ts";
import type { Credentials } from "./connection.ts";
import { generateEncryptionKeyPair } from "../e2e/keys.ts";

/** The TTP: PEM request in, PEM certificate out. */
export type Signer = (requestPem: string) => Promise<string>;

export class RegistrationError extends Error {
  override name = "RegistrationError";
}

/**
 * How the TTP process is started: in the data directory, `chat ca sign`
 * reading ttpkeys/ only, with a fixed argument list. Under `deno run` that
 * is pki/sign.sh, the one program the client task may run (deno.json): the
 * client can never start deno itself, with flags of its choosing.
 */
export function ttpCommand(dataDir: string): { command: string; args: string[]; cwd: string } {
  if (Deno.build.standalone) {
    return { command: Deno.execPath(), args: ["ca", "sign"], cwd: dataDir };
  }
  return { command: SIGN_SCRIPT, args: [], cwd: dataDir };
}

/** pki/sign.sh, by absolute path (the permission names it relative to the project). */
export const SIGN_SCRIPT = fromFileUrl(new URL("../pki/sign.sh", import.meta.url));

/** How long the TTP process may take to sign (it starts a runtime and reads its keys: a second or two). */
export const TTP_LIMIT_MS = 60_000;

/** A Signer that runs the TTP process. */
export function processSigner(
  dataDir: string,
  ttp = ttpCommand(dataDir),
  limitMs = TTP_LIMIT_MS,
): Signer {
  return async (requestPem) => {
    const { command, args, cwd } = ttp;
    const child = new Deno.Command(command, {
      args,
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // A TTP that hangs (a stuck disk, a prompt) must not hang /register.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limitMs);
    let output: Deno.CommandOutput;
    try {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(requestPem)).then(() => writer.close())
        .catch(() => {/* the TTP exited without reading it: its exit says why */});
      output = await child.output();
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) {
      throw new RegistrationError(
        `the TTP did not answer within ${limitMs / 1000} s`,
      );
    }
    const { code, stdout, stderr } = output;
    if (code !== 0) {
      const reason = new TextDecoder().decode(stderr).trim().split("\n")[0] ?? "";
      // Our own program's words (pki/authority.ts): there is no CA here.
      if (/^chat: error: cannot read "[^"]*ca\.key": not found$/.test(reason)) {
        throw new TtpAbsentError("the TTP is not on this machine");
      }
      throw new RegistrationError(
        `the TTP did not sign the request${
          reason ? `: ${reason.replace(/^chat: error: /, "")}` : ""
        }`,
      );
    }
    return new TextDecoder().decode(stdout);
  };
}

/** The TTP is not on this machine (no CA key where `chat ca sign` looks): enrol through files. */
export class TtpAbsentError extends RegistrationError {
  override name = "TtpAbsentError";
}

/** A user's new private keys, as PEM, and the certificate request for the identity key. */
export interface NewKeys {
  key: string;
  encryptionKey: string;
  request: string;
}

/**
 * Makes the user's identity and encryption key pairs and the request that
 * asks the TTP to certify the identity key for `name`. (The encryption key is
 * bound by the user's own signature, e2e/README.md.)
 */
export async function makeKeys(name: string): Promise<NewKeys> {
  const keys = await generateKeyPair();
  const encryption = generateEncryptionKeyPair();
  return {
    key: await exportPrivateKeyPem(keys.privateKey),
    encryptionKey: encryption.privatePem,
    request: await createRequest(name, keys),
  };
}

/**
 * Checks that a certificate from the TTP verifies against the CA, names
 * `name` and is for the identity key in `keys`, and returns the credentials.
 * `source` names where it came from, for the error.
 */
export async function acceptCertificate(
  name: string,
  keys: { key: string; encryptionKey: string },
  certificatePem: string,
  caCertificatePem: string,
  source = "the TTP's certificate",
): Promise<Credentials> {
  let der: Uint8Array;
  try {
    der = new Uint8Array(new x509.X509Certificate(certificatePem).rawData);
  } catch {
    throw new RegistrationError(`${source} is not a certificate`);
  }
  const identity = await verifyClientCertificate(der, new x509.X509Certificate(caCertificatePem))
    .catch((error) => {
      throw new RegistrationError(`${source} does not verify: ${error.message}`);
    });
  if (identity.name !== name) {
    throw new RegistrationError(`${source} names "${identity.name}", not "${name}"`);
  }
  if (!equalBytes(identity.publicKey, await publicKeyOfPrivatePem(keys.key))) {
    throw new RegistrationError(`${source} is not for the key made for ${name} on this machine`);
  }
  return { certificate: certificatePem, key: keys.key, encryptionKey: keys.encryptionKey };
}

/** Makes new keys and has the TTP certify them at once (the TTP is local). */
export async function obtainCredentials(
  name: string,
  sign: Signer,
  caCertificatePem: string,
): Promise<Credentials> {
  const keys = await makeKeys(name);
  return await acceptCertificate(name, keys, await sign(keys.request), caCertificatePem);
}
