/**
 * `chat ca`: the trusted third party. `init` creates the root CA and the
 * server's key and certificate; `sign` turns one certificate request (PEM on
 * stdin) into a client certificate (PEM on stdout). `sign` only reads
 * ttpkeys/: registering a user changes nothing there (random serials).
 * `revoke` adds a certificate to the CA-signed revocation list the server
 * reads, serverkeys/crl.pem (pki/revocation.ts).
 */

import { commandLine, runHint } from "../cli/invocation.ts";
import { parseArgs } from "../cli/args.ts";
import { CliError, describeFileError, UsageError } from "../cli/errors.ts";
import {
  type Certificate,
  CertificateError,
  commonName,
  MAX_CERTIFICATE_BYTES,
  signRequest,
} from "./certificates.ts";
import { exists, readTextFile, replaceFile } from "../cli/files.ts";
import { addToRevocationList, MAX_CRL_BYTES, readRevocationList } from "./revocation.ts";
import { x509 } from "./x509.ts";
import { initAuthority, loadAuthority } from "./authority.ts";
import { dataPaths } from "./paths.ts";

export const HELP = `chat ca: the trusted third party (TTP)

Usage:
  chat ca init [--host HOST]... [--dir DIR]
  chat ca sign [--dir DIR] < request.pem > certificate.pem
  chat ca revoke CERT.pem [--dir DIR]

Commands:
  init   create ttpkeys/ (the CA), serverkeys/ (the server's key and
         certificate) and clientkeys/ca.crt. Keeps every file that exists;
         with a --host the certificate lacks, issues the server certificate
         again (same CA, same key) for every name it had plus the new ones.
  sign   check a user's certificate request (its signature and name) and
         print a client certificate for it. The client runs this for you at
         "/register"; it reads only ttpkeys/.
  revoke add the certificate in CERT.pem (a user's cert.pem, or what
         "chat server cert NAME" prints) to serverkeys/crl.pem, the list of
         certificates the TTP no longer vouches for, signed by the CA. A
         running server reads it on SIGHUP: it then refuses that certificate
         ("error: invalid credentials", logged) and ends its session. CERT.pem
         "-" reads the certificate from stdin.

Options:
  --host HOST   another name or address the server certificate is valid for
                (always: localhost, 127.0.0.1, ::1); repeatable
  --dir DIR     data directory (default .)
  -h, --help    show this help

Example:
  $ chat ca init --host chat.example.org
  created ttpkeys/ca.key (the CA's secret: keep it off the server)
  ...
`;

export async function run(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "-h" || verb === "--help") {
    console.log(HELP);
    return verb === undefined ? 2 : 0;
  }
  if (verb === "init") return await init(rest);
  if (verb === "sign") return await sign(rest);
  if (verb === "revoke") return await revoke(rest);
  throw new UsageError(`unknown command "ca ${verb}"`, runHint("ca --help"));
}

async function init(args: string[]): Promise<number> {
  const { values } = parseArgs(args, {
    host: { type: "string", multiple: true },
    dir: { type: "string" },
  }, 0);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const hosts = (values.host ?? []) as string[];
  for (const host of hosts) {
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw new UsageError(`invalid host "${host}"`);
  }
  const paths = dataPaths(values.dir);
  const report = await initAuthority(paths, hosts);
  const notes: Record<string, string> = {
    [paths.caKey]: " (the CA's secret: keep it off the server)",
    [paths.serverKey]: " (the server's secret)",
  };
  for (const path of report.created) console.log(`created ${path}${notes[path] ?? ""}`);
  for (const path of report.kept) console.log(`kept ${path} (exists; not overwritten)`);
  if (report.reissued) {
    console.log(
      `reissued ${report.reissued.path} for ${report.reissued.hosts.join(", ")} ` +
        `(same CA, same server key)`,
    );
    console.log(
      "next: copy it to the server's serverkeys/ if it runs elsewhere, then send the server SIGHUP (or restart it)",
    );
    return 0;
  }
  if (report.created.length === 0) {
    console.log(
      'nothing to do: the CA and the server keys exist ("--host NAME" adds a name to the server certificate)',
    );
  }
  console.log(`next: "${commandLine("server")}" to serve, "${commandLine("client")}" to chat`);
  return 0;
}

async function sign(args: string[]): Promise<number> {
  const { values } = parseArgs(args, { dir: { type: "string" } }, 0);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const ca = await loadAuthority(dataPaths(values.dir));
  const request = await readStdin(MAX_CERTIFICATE_BYTES * 2);
  try {
    const certificate = await signRequest(ca, request);
    console.log(certificate.toString("pem"));
  } catch (error) {
    if (error instanceof CertificateError) {
      throw new CliError(`cannot sign the request: ${error.message}`);
    }
    throw error;
  }
  return 0;
}

async function revoke(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs(args, { dir: { type: "string" } }, 1);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined) throw new UsageError("missing CERT.pem: chat ca revoke CERT.pem");
  const paths = dataPaths(values.dir);
  const ca = await loadAuthority(paths);
  const pem = file === "-"
    ? await readStdin(MAX_CERTIFICATE_BYTES * 2, "cannot revoke: certificate too large")
    : await readCertificateFile(file);
  let certificate: Certificate;
  try {
    certificate = new x509.X509Certificate(pem);
  } catch {
    throw new CliError(`cannot revoke: "${file}" holds no PEM certificate`);
  }
  // Only this CA's own certificates: a list naming others' serials means nothing.
  const ours = certificate.issuer === ca.certificate.subject &&
    await certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true })
      .catch(() => false);
  if (!ours) throw new CliError(`cannot revoke: "${file}" is not a certificate this CA issued`);
  let previous: string | null = null;
  if (await exists(paths.serverCrl)) {
    previous = await readTextFile(paths.serverCrl);
    try {
      await readRevocationList(previous, ca.certificate);
    } catch (error) {
      throw new CliError(
        `cannot revoke: "${paths.serverCrl}" is not a list this CA signed (${
          (error as Error).message
        })`,
        "move it away and revoke again every certificate it listed",
      );
    }
  }
  const { pem: crl, added } = await addToRevocationList(ca, previous, certificate);
  if (crl.length > MAX_CRL_BYTES) throw new CliError("cannot revoke: the list is too long");
  await replaceFile(paths.serverCrl, crl);
  const who = commonName(certificate.subjectName) ?? "(no name)";
  console.log(
    `${
      added ? "revoked" : "already revoked:"
    } ${who}'s certificate, serial ${certificate.serialNumber.toLowerCase()}; wrote ${paths.serverCrl}`,
  );
  console.log(
    "next: copy it to the server's serverkeys/ if it runs elsewhere, then send the server SIGHUP " +
      "(or restart it): its sessions end and its logins are refused",
  );
  return 0;
}

async function readCertificateFile(file: string): Promise<string> {
  const hint = 'a file outside the tasks\' folders can come on stdin: "ca revoke - < CERT.pem"';
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (error) {
    throw new CliError(describeFileError("read", file, error), hint, { cause: error });
  }
  if (!info.isFile || info.size > MAX_CERTIFICATE_BYTES * 2) {
    throw new CliError(`cannot revoke: "${file}" is not a certificate file`);
  }
  return await readTextFile(file, hint);
}

async function readStdin(
  maxBytes: number,
  tooLarge = "cannot sign the request: request too large",
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of Deno.stdin.readable) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new CliError(tooLarge);
    chunks.push(chunk);
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}
