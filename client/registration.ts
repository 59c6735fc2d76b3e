/**
 * Registration's key ceremony (SPEC section 4, "PKI"): the client makes its
 * own key pair and a certificate request, and has the TTP sign it by running
 * `chat ca sign` as a separate process: "visiting the TTP in person". The
 * client never reads ttpkeys/; the TTP process never sees the private key.
 * The certificate that comes back is checked before it is kept.
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { createRequest, publicKeyOf, verifyClientCertificate } from "../pki/certificates.ts";
import { equalBytes, exportPrivateKeyPem, generateKeyPair } from "../pki/keys.ts";
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

/** A Signer that runs the TTP process. */
export function processSigner(dataDir: string): Signer {
  return async (requestPem) => {
    const { command, args, cwd } = ttpCommand(dataDir);
    const child = new Deno.Command(command, {
      args,
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(requestPem));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    if (code !== 0) {
      const reason = new TextDecoder().decode(stderr).trim().split("\n")[0] ?? "";
      throw new RegistrationError(
        `the TTP did not sign the request${
          reason ? `: ${reason.replace(/^chat: error: /, "")}` : ""
        }`,
      );
    }
    return new TextDecoder().decode(stdout);
  };
}

/**
 * Makes the user's identity and encryption key pairs, has the identity key
 * certified for `name`, and checks that the certificate is for that key. (The
 * encryption key is bound by the user's own signature, e2e/README.md.)
 */
export async function obtainCredentials(
  name: string,
  sign: Signer,
  caCertificatePem: string,
): Promise<Credentials> {
  const keys = await generateKeyPair();
  const encryption = generateEncryptionKeyPair();
  const certificatePem = await sign(await createRequest(name, keys));
  let der: Uint8Array;
  try {
    der = new Uint8Array(new x509.X509Certificate(certificatePem).rawData);
  } catch {
    throw new RegistrationError("the TTP returned something that is not a certificate");
  }
  const identity = await verifyClientCertificate(der, new x509.X509Certificate(caCertificatePem))
    .catch((error) => {
      throw new RegistrationError(`the TTP's certificate does not verify: ${error.message}`);
    });
  const expectedKey = await publicKeyOf(keys);
  if (identity.name !== name || !equalBytes(identity.publicKey, expectedKey)) {
    throw new RegistrationError("the TTP's certificate is not for this name and key");
  }
  return {
    certificate: certificatePem,
    key: await exportPrivateKeyPem(keys.privateKey),
    encryptionKey: encryption.privatePem,
  };
}
