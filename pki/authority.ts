/**
 * The TTP's files: creating the CA and the server's key and certificate in a
 * data directory (`chat ca init`), and loading the CA to sign a request
 * (`chat ca sign`). Never overwrites a file; says what it kept.
 */

import { runHint } from "../cli/invocation.ts";
import { CliError } from "../cli/errors.ts";
import { exists, makeDirectory, readTextFile, replaceFile, writeNewFile } from "../cli/files.ts";
import {
  type Authority,
  certificateHostNames,
  createAuthority,
  issueServerCertificate,
  serverHostNames,
} from "./certificates.ts";
import {
  equalBytes,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  publicKeyOfPrivatePem,
} from "./keys.ts";
import { CLIENT_DIR, type DataPaths, SERVER_DIR, TTP_DIR } from "./paths.ts";
import { x509 } from "./x509.ts";

export interface InitReport {
  created: string[];
  kept: string[];
  /** The server certificate, when it was issued again for more names; with every name. */
  reissued?: { path: string; hosts: string[] };
}

export async function initAuthority(
  paths: DataPaths,
  extraHosts: readonly string[],
): Promise<InitReport> {
  const report: InitReport = { created: [], kept: [] };
  const ca = await loadOrCreateAuthority(paths, report);
  const caPem = ca.certificate.toString("pem") + "\n";

  await makeDirectory(paths.serverDir, 0o700);
  if (await exists(paths.serverKey)) {
    report.kept.push(paths.serverKey);
    const hosts = await reissueForHosts(paths, ca, extraHosts);
    if (hosts === null) report.kept.push(paths.serverCertificate);
    else report.reissued = { path: paths.serverCertificate, hosts };
  } else {
    if (await exists(paths.serverCertificate)) {
      throw new CliError(
        `"${paths.serverCertificate}" exists without "${paths.serverKey}"`,
        `remove "${paths.serverDir}" to issue a new server certificate`,
      );
    }
    const keys = await generateKeyPair();
    const certificate = await issueServerCertificate(
      ca,
      keys.publicKey,
      serverHostNames(extraHosts),
    );
    await writeNewFile(paths.serverKey, await exportPrivateKeyPem(keys.privateKey), {
      secret: true,
    });
    await writeNewFile(paths.serverCertificate, certificate.toString("pem") + "\n");
    report.created.push(paths.serverKey, paths.serverCertificate);
  }
  await writeCopy(paths.serverCaCertificate, caPem, report);
  await makeDirectory(paths.clientDir, 0o700);
  await writeCopy(paths.clientCaCertificate, caPem, report);
  return report;
}

/**
 * `ca init --host NAME` on existing keys: when NAME is new, issues the server
 * certificate again, by the same CA for the same server key, valid for every
 * name it had plus the new ones, and replaces server.crt (a public file; the
 * key is never touched). Returns the names, or null when nothing was new.
 */
async function reissueForHosts(
  paths: DataPaths,
  ca: Authority,
  extraHosts: readonly string[],
): Promise<string[] | null> {
  let current: x509.X509Certificate;
  try {
    current = new x509.X509Certificate(await readTextFile(paths.serverCertificate));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot parse "${paths.serverCertificate}"`, undefined, { cause: error });
  }
  const had = certificateHostNames(current);
  const hosts = serverHostNames([...had, ...extraHosts]);
  if (hosts.every((host) => had.includes(host))) return null;
  const publicKey = await publicKeyOfPrivatePem(await readTextFile(paths.serverKey));
  if (!equalBytes(publicKey, new Uint8Array(current.publicKey.rawData))) {
    throw new CliError(
      `"${paths.serverCertificate}" is not for the key in "${paths.serverKey}"`,
      `remove ${SERVER_DIR}/ and ${runHint("ca init", " again to make both anew")}`,
    );
  }
  const certificate = await issueServerCertificate(ca, await current.publicKey.export(), hosts);
  await replaceFile(paths.serverCertificate, certificate.toString("pem") + "\n");
  return hosts;
}

/** The CA for `chat ca sign`: read from ttpkeys/, never written. */
export async function loadAuthority(paths: DataPaths): Promise<Authority> {
  const hint = runHint("ca init", " first");
  const keyPem = await readTextFile(paths.caKey, hint);
  const certificatePem = await readTextFile(paths.caCertificate, hint);
  try {
    return {
      privateKey: await importPrivateKeyPem(keyPem),
      certificate: new x509.X509Certificate(certificatePem),
    };
  } catch (error) {
    throw new CliError(`cannot load the CA from "${paths.caKey}"`, undefined, { cause: error });
  }
}

async function loadOrCreateAuthority(paths: DataPaths, report: InitReport): Promise<Authority> {
  if (await exists(paths.caKey)) {
    report.kept.push(paths.caKey, paths.caCertificate);
    return await loadAuthority(paths);
  }
  for (const path of [paths.caCertificate, paths.serverCaCertificate, paths.clientCaCertificate]) {
    if (await exists(path)) {
      throw new CliError(
        `"${path}" exists but the CA key "${paths.caKey}" does not`,
        `a new CA would not match it: remove ${TTP_DIR}/, ${SERVER_DIR}/ and ${CLIENT_DIR}/ to start over`,
      );
    }
  }
  await makeDirectory(paths.ttpDir, 0o700);
  const { certificate, keys } = await createAuthority();
  await writeNewFile(paths.caKey, await exportPrivateKeyPem(keys.privateKey), { secret: true });
  await writeNewFile(paths.caCertificate, certificate.toString("pem") + "\n");
  report.created.push(paths.caKey, paths.caCertificate);
  return { certificate, privateKey: keys.privateKey };
}

async function writeCopy(path: string, pem: string, report: InitReport): Promise<void> {
  if (await exists(path)) {
    if ((await readTextFile(path)) !== pem) {
      throw new CliError(
        `"${path}" is not a copy of this CA's certificate`,
        "remove it and run again to put the right copy there",
      );
    }
    report.kept.push(path);
    return;
  }
  await writeNewFile(path, pem);
  report.created.push(path);
}
