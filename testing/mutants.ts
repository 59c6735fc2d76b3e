/**
 * Mutation testing by hand-picked mutants: each security check named in
 * SECURITY.md is broken, one at a time, in a scratch copy of the tree (never
 * the real one), and the tests that should notice are run there. A mutant
 * that no test catches, or whose code no longer matches (the check moved:
 * update the mutant), fails the run. Prints a table: mutant -> the test that
 * caught it.
 *
 *   deno task mutants            every mutant
 *   deno task mutants pinning    those whose name contains "pinning"
 *
 * Specs run in order and stop at the first that fails, so fast unit tests
 * come first and the black-box ones (a minute each on a shared machine)
 * only where nothing smaller can see the check.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runWithTimeout } from "./child.ts";

interface Edit {
  file: string;
  from: string;
  to: string;
}

interface Spec {
  file: string;
  /** deno test --filter: only the tests that concern the check. */
  filter?: string;
}

interface Mutant {
  name: string;
  edits: Edit[];
  specs: Spec[];
}

const off = (file: string, from: string, to = "if (false) {"): Edit => ({ file, from, to });

export const MUTANTS: Mutant[] = [
  {
    name: "private message signature check (e2e)",
    edits: [off(
      "e2e/envelope.ts",
      "const signed = labelled(PRIVATE_LABEL, [...header, envelope.nonce, envelope.ct]);\n    if (!verifies(signed, sender, sig)) {",
      "const signed = labelled(PRIVATE_LABEL, [...header, envelope.nonce, envelope.ct]);\n    if (false) {",
    )],
    specs: [{ file: "e2e/envelope_test.ts" }],
  },
  {
    name: "public message signature check (e2e)",
    edits: [off(
      "e2e/envelope.ts",
      "const signed = labelled(PUBLIC_LABEL, [ENVELOPE_VERSION, mid, from, time, text]);\n    if (!verifies(signed, sender, sig)) {",
      "const signed = labelled(PUBLIC_LABEL, [ENVELOPE_VERSION, mid, from, time, text]);\n    if (false) {",
    )],
    specs: [{ file: "e2e/envelope_test.ts" }],
  },
  {
    name: "parties of a version-1 envelope against its delivery (e2e)",
    edits: [
      off(
        "e2e/envelope.ts",
        "if (from !== route.from || to !== route.to || sender.name !== from) {",
      ),
    ],
    specs: [{ file: "e2e/envelope_test.ts" }],
  },
  {
    name: "replay check: a message id shown once (client)",
    edits: [off("client/inbox.ts", "if (shownAs !== undefined && shownAs !== frame.id) {")],
    specs: [{ file: "tests/e2e_attacks_test.ts", filter: "delivers twice" }],
  },
  {
    name: "certificate date check (pki)",
    edits: [
      off(
        "pki/certificates.ts",
        "if (now < certificate.notBefore || now > certificate.notAfter) {",
      ),
    ],
    specs: [{ file: "pki/certificates_test.ts" }, { file: "server/session_test.ts" }],
  },
  {
    name: "certificate date check (server's cache)",
    edits: [{
      file: "server/certificate_cache.ts",
      from:
        "entry !== undefined && now.getTime() >= entry.notBefore && now.getTime() <= entry.notAfter",
      to: "entry !== undefined",
    }],
    specs: [{ file: "server/certificate_cache_test.ts" }],
  },
  {
    name: "CA flag check",
    edits: [off("pki/certificates.ts", "if (constraints?.ca) {")],
    specs: [{ file: "pki/certificates_test.ts" }, { file: "server/session_test.ts" }],
  },
  {
    name: "chain check: issuer is our CA",
    edits: [off("pki/certificates.ts", "if (certificate.issuer !== caCertificate.subject) {")],
    specs: [{ file: "pki/certificates_test.ts" }, { file: "server/session_test.ts" }],
  },
  {
    name: "chain check: signed by our CA",
    edits: [off("pki/certificates.ts", "if (!signed) {")],
    specs: [{ file: "pki/certificates_test.ts" }, { file: "server/session_test.ts" }],
  },
  {
    name: "chain check: the TLS layer's verdict",
    edits: [{
      file: "server/listener.ts",
      from: "this.#certificate = socket.authorized === true ? der : null;",
      to: "this.#certificate = der;",
    }],
    specs: [{ file: "tests/refusals_test.ts", filter: "forged identity" }],
  },
  {
    name: "X.509 v1 refusal",
    edits: [off("pki/certificates.ts", "if (certificateVersion(certificate) !== 2) {")],
    specs: [{ file: "pki/certificates_test.ts" }, { file: "server/session_test.ts" }],
  },
  {
    name: "key pinning (server: certificate key = registered key)",
    edits: [{
      file: "server/session.ts",
      from: "else if (!equalBytes(identity.publicKey, user.publicKey)) {",
      to: "else if (false) {",
    }],
    specs: [{ file: "server/session_test.ts" }, {
      file: "tests/refusals_test.ts",
      filter: "forged identity",
    }],
  },
  {
    name: "key pinning (client: a peer's keys = the pinned keys)",
    edits: [{
      file: "client/peers.ts",
      from: "if (pinned !== current) return",
      to: "if (false) return",
    }],
    specs: [{ file: "tests/e2e_attacks_test.ts", filter: "keys the server swaps" }],
  },
  {
    name: "private routing (a private message to its two parties only)",
    edits: [{
      file: "server/hub.ts",
      from: "if (message.to === null) {\n      for (const member of this.#online.values()) {",
      to: "if (true) {\n      for (const member of this.#online.values()) {",
    }],
    specs: [{ file: "server/session_test.ts" }, {
      file: "tests/messaging_test.ts",
      filter: "private ones only their two parties",
    }],
  },
  {
    name: "control-character neutralisation",
    edits: [{
      file: "client/render.ts",
      from: 'text.replace(UNSAFE, "\\ufffd")',
      to: "text",
    }],
    specs: [{ file: "client/render_test.ts" }, {
      file: "tests/malicious_server_test.ts",
      filter: "neutralised",
    }],
  },
  {
    name: "frame limit (line length)",
    edits: [
      off(
        "protocol/line_decoder.ts",
        "if (this.#pendingBytes + piece.byteLength + 1 > this.#maxBytes) {",
      ),
      off(
        "protocol/line_decoder.ts",
        "if (this.#pendingBytes + tail.byteLength + 1 > this.#maxBytes) {",
      ),
    ],
    specs: [{ file: "protocol/line_decoder_test.ts" }, { file: "tests/hostile_input_test.ts" }],
  },
  {
    name: "strict UTF-8 in frames",
    edits: [{
      file: "protocol/frames.ts",
      from: 'new TextDecoder("utf-8", { fatal: true })',
      to: 'new TextDecoder("utf-8")',
    }],
    specs: [{ file: "protocol/frames_test.ts" }, { file: "tests/hostile_input_test.ts" }],
  },
  {
    name: "rate limit (requests per second)",
    edits: [{ file: "server/limits.ts", from: "if (this.#tokens >= 1) {", to: "if (true) {" }],
    specs: [{ file: "server/admission_test.ts" }, {
      file: "tests/limits_test.ts",
      filter: "requests beyond the rate",
    }],
  },
  {
    name: "rate limit (login attempts per address)",
    edits: [{
      file: "server/admission.ts",
      from: "return entry.bucket.take(now) === 0;",
      to: "return true;",
    }],
    specs: [{ file: "server/admission_test.ts" }, {
      file: "tests/limits_test.ts",
      filter: "login attempts",
    }],
  },
  {
    name: "login timeout",
    edits: [{
      file: "server/listener.ts",
      from: 'this.#expireIn(this.#limits.loginTimeoutMs, "did not log in in time");',
      to: "",
    }],
    specs: [{ file: "tests/limits_test.ts", filter: "closed by their timeouts" }],
  },
  {
    name: "private payload counted as encoded (issue 8)",
    edits: [{
      file: "protocol/frames.ts",
      from:
        'if (!PAYLOAD_SHAPE.test(value)) throw new ProtocolError("invalid_format", "bad payload")',
      to: 'if (false) throw new ProtocolError("invalid_format", "bad payload")',
    }],
    specs: [{ file: "protocol/frame_limits_test.ts" }],
  },
  {
    name: "small-order and non-canonical keys refused (issue 8)",
    edits: [{
      file: "pki/points.ts",
      from: 'if (SMALL_ORDER_U.has(u)) return "X25519 key of small order"',
      to: 'if (false) return "X25519 key of small order"',
    }],
    specs: [{ file: "pki/points_test.ts" }, { file: "tests/hostile_keys_test.ts" }],
  },
  {
    name: "names unique by skeleton (issue 8)",
    edits: [{ file: "protocol/names.ts", from: '.replace(/[i1]/g, "l")', to: "" }],
    specs: [{ file: "db/sqlite/store_test.ts" }, { file: "tests/names_test.ts" }],
  },
  {
    name: "storage quotas (issue 8)",
    edits: [{
      file: "server/quotas.ts",
      from: "if (quota.bytes + bytes > this.#limits.bytesPerDay) refusal",
      to: "if (false) refusal",
    }],
    specs: [{ file: "tests/quotas_test.ts" }],
  },
  {
    name: "history store: its key comes from the user's private keys (issue 11)",
    edits: [{
      file: "client/history_store.ts",
      from: "const secret = Buffer.concat([der(credentials.key), der(credentials.encryptionKey)]);",
      to: "const secret = Buffer.alloc(64);",
    }],
    specs: [{ file: "client/history_store_test.ts" }],
  },
  {
    name: "sandbox: the client task's read permission",
    edits: [{
      file: "deno.json",
      from: "--allow-read=clientkeys --allow-write=clientkeys",
      to: "--allow-read --allow-write=clientkeys",
    }],
    specs: [{ file: "tests/sandbox_test.ts", filter: "each task's flags" }],
  },
  {
    name: "sandbox: each command narrows the compiled binary's permissions",
    edits: [{
      file: "cli/permissions.ts",
      from:
        'for (const path of narrowing.read) Deno.permissions.revokeSync({ name: "read", path });',
      to: "",
    }],
    specs: [{ file: "tests/sandbox_test.ts", filter: "compile task's union" }],
  },
  {
    name: "revocation: a revoked certificate refused",
    edits: [{
      file: "server/session.ts",
      from: 'if (this.context.revocations.has(identity.serial)) return "certificate revoked";',
      to: "",
    }],
    specs: [{ file: "tests/revocation_test.ts", filter: "SIGHUP ends" }],
  },
  {
    name: "revocation: only a CRL this CA signed",
    edits: [{
      file: "pki/revocation.ts",
      from: 'if (!signed) throw new CertificateError("CRL is not signed by this CA");',
      to: "",
    }],
    specs: [{ file: "tests/revocation_test.ts", filter: "another CA signed" }],
  },
  {
    name: "ban: a banned user refused at login",
    edits: [{
      file: "server/session.ts",
      from: 'else if (this.context.bans.has(name)) reason = "banned by the operator";',
      to: "",
    }],
    specs: [{ file: "tests/operator_test.ts", filter: "ban ends a live session" }],
  },
];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** A black-box test file takes a minute or two on a loaded machine; ten is a hang. */
const SPEC_LIMIT_MS = 10 * 60_000;

/** The tree's files: tracked and new ones (not ignored ones) from git, or, outside git, a walk. */
async function treeFiles(): Promise<string[]> {
  const listed = await runWithTimeout(
    new Deno.Command("git", {
      args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }),
  ).catch(() => null);
  if (listed !== null && listed.code === 0) return listed.stdout.split("\0").filter((f) => f);
  // An exported tree (no .git): everything but what .gitignore keeps out.
  const files: string[] = [];
  const skip = /^(\.git|node_modules|ttpkeys|serverkeys|clientkeys|chat\.db.*|chat)$/;
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      if (skip.test(entry.name)) continue;
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) files.push(path);
    }
  };
  await walk("");
  return files;
}

/** Copies the tree's files, as they are now, to a scratch folder. */
async function scratchCopy(): Promise<string> {
  const scratch = await Deno.makeTempDir({ prefix: "chat-mutants-" });
  for (const file of await treeFiles()) {
    await Deno.mkdir(join(scratch, dirname(file)), { recursive: true });
    try {
      await Deno.copyFile(join(ROOT, file), join(scratch, file));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
    }
  }
  return scratch;
}

/** Runs one spec in the scratch tree; returns the names of the tests that failed. */
async function runSpec(scratch: string, spec: Spec): Promise<{ failed: string[]; output: string }> {
  const args = [
    "test",
    "--allow-all",
    "--no-check",
    ...(spec.filter ? ["--filter", spec.filter] : []),
    spec.file,
  ];
  const out = await runWithTimeout(
    new Deno.Command(Deno.execPath(), {
      args,
      cwd: scratch,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }),
    undefined,
    SPEC_LIMIT_MS,
    `deno ${args.join(" ")}`,
  ).catch((error) => ({ code: -1, stdout: String(error), stderr: "" }));
  const output = out.stdout + out.stderr;
  const failed = [...output.matchAll(/^(.+?) \.\.\. FAILED/gm)].map((m) => m[1].trim());
  if (out.code !== 0 && failed.length === 0) {
    failed.push(
      `(exit ${out.code}: ${/^error: .*$/m.exec(output)?.[0] ?? "no test failed by name"})`,
    );
  }
  if (/\b0 passed \| 0 failed/.test(output)) failed.push("(no test ran: the filter matches none)");
  return { failed, output };
}

async function main(args: string[]): Promise<number> {
  const chosen = MUTANTS.filter((m) => args.length === 0 || args.some((a) => m.name.includes(a)));
  const scratch = await scratchCopy();
  console.log(`scratch copy: ${scratch}`);
  const rows: string[][] = [];
  let bad = 0;
  try {
    for (const mutant of chosen) {
      const originals = new Map<string, string>();
      let result = "";
      for (const edit of mutant.edits) {
        const path = join(scratch, edit.file);
        const text = originals.get(edit.file) ?? await Deno.readTextFile(path);
        originals.set(edit.file, originals.get(edit.file) ?? text);
        const current = await Deno.readTextFile(path);
        const count = current.split(edit.from).length - 1;
        if (count !== 1) {
          result = `NOT APPLIED: ${JSON.stringify(edit.from)} found ${count} times in ${edit.file}`;
          break;
        }
        await Deno.writeTextFile(path, current.replace(edit.from, () => edit.to));
      }
      const started = Date.now();
      if (result === "") {
        for (const spec of mutant.specs) {
          const { failed } = await runSpec(scratch, spec);
          if (failed.length > 0) {
            result = `${spec.file}: ${failed.join("; ")}`;
            break;
          }
        }
      }
      for (const [file, text] of originals) await Deno.writeTextFile(join(scratch, file), text);
      if (result === "") result = `SURVIVED (${mutant.specs.map((s) => s.file).join(", ")} passed)`;
      if (result.startsWith("SURVIVED") || result.startsWith("NOT APPLIED")) bad++;
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      console.log(`${mutant.name} -> ${result} (${seconds} s)`);
      rows.push([mutant.name, mutant.edits.map((e) => e.file).join(", "), result]);
    }
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  console.log("\n| mutant | broken in | caught by |\n|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  console.log(`\n${rows.length - bad} of ${rows.length} mutants caught`);
  return bad === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
