/**
 * The import graph is part of the design (STYLE.md): the server cannot
 * decrypt what it cannot even import, each storage engine and each bus stays
 * in its own folder behind one interface, only the edge files open sockets,
 * and the program never imports test code. The
 * detectors are tested on a table of sources first, so a form of import or
 * socket they cannot see fails here rather than passing the rules silently.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Folders of test code: free to open sockets and import anything but each other's tests. */
const TEST_FOLDERS = ["tests/", "testing/", "bench/"];
/** The only program files that open sockets (STYLE.md: edges are few and named). */
const SOCKET_EDGES = ["server/listener.ts", "client/connection.ts"];

async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory && !entry.name.startsWith(".") && entry.name !== "node_modules") {
        await walk(path);
      } else if (entry.isFile && entry.name.endsWith(".ts")) {
        files.set(relative(ROOT, path), await Deno.readTextFile(path));
      }
    }
  }
  await walk(ROOT);
  return files;
}

interface Import {
  spec: string;
  /** The names imported (`{ isIP }`, `* as x`, `x`), empty for side-effect and dynamic imports. */
  names: string;
  typeOnly: boolean;
}

/** Every import and re-export of a module: static, type-only, side-effect and dynamic. */
function importsOf(source: string): Import[] {
  const found: Import[] = [];
  for (
    const m of source.matchAll(
      /^\s*(?:import|export)\s+(type\s+)?([^;"']*?)\s*from\s*["']([^"']+)["']/gm,
    )
  ) {
    found.push({ spec: m[3], names: m[2], typeOnly: m[1] !== undefined });
  }
  for (const m of source.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) {
    found.push({ spec: m[1], names: "", typeOnly: false });
  }
  for (const m of source.matchAll(/\bimport\(\s*["'`]([^"'`]+)["'`]\s*\)/g)) {
    found.push({ spec: m[1], names: "", typeOnly: false });
  }
  return found;
}

const SOCKET_MODULES = [
  "node:net",
  "node:tls",
  "node:http",
  "node:https",
  "node:http2",
  "node:dgram",
];
/** node:net exports a few pure helpers; importing only these opens nothing. */
const PURE_NET_NAMES = /^\{\s*(?:(?:isIP|isIPv4|isIPv6)\s*,?\s*)+\}$/;
const SOCKET_CALLS =
  /\bDeno\.(?:connect|connectTls|listen|listenTls|listenDatagram|startTls|serve|serveHttp|upgradeWebSocket)\b|\bnew\s+WebSocket\b|(?<![.#\w])fetch\(/;

/** Whether a module can open a socket: a socket API used, or a socket module imported for its values. */
function opensSockets(source: string): boolean {
  if (SOCKET_CALLS.test(source.replace(/^\s*(?:\/\/|\*).*$/gm, ""))) return true;
  return importsOf(source).some((i) =>
    SOCKET_MODULES.includes(i.spec) && !i.typeOnly && !PURE_NET_NAMES.test(i.names.trim())
  );
}

function importsSqlite(source: string): boolean {
  return importsOf(source).some((i) => i.spec === "node:sqlite");
}

/** Every module `file` reaches through relative imports, itself included. */
function closure(file: string, files: Map<string, string>): Set<string> {
  const seen = new Set<string>();
  const stack = [file];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (seen.has(current) || !files.has(current)) continue;
    seen.add(current);
    for (const { spec } of importsOf(files.get(current)!)) {
      if (spec.startsWith(".")) stack.push(relative(ROOT, join(ROOT, current, "..", spec)));
    }
  }
  return seen;
}

Deno.test("the layout detectors see every form of import and socket", () => {
  const cases: Array<[string, string[], boolean, boolean]> = [
    // source, imported specs, opens sockets, imports SQLite
    [`import { a } from "./a.ts";`, ["./a.ts"], false, false],
    [`import type { Socket } from "node:net";`, ["node:net"], false, false],
    [`import {\n  a,\n  b,\n} from "../e2e/keys.ts";`, ["../e2e/keys.ts"], false, false],
    [`export * from "../client/x.ts";`, ["../client/x.ts"], false, false],
    [`export { y } from "../client/y.ts";`, ["../client/y.ts"], false, false],
    [`import "../e2e/side_effect.ts";`, ["../e2e/side_effect.ts"], false, false],
    [`import "node:sqlite";`, ["node:sqlite"], false, true],
    [`const m = await import("../client/late.ts");`, ["../client/late.ts"], false, false],
    [`import { DatabaseSync } from "node:sqlite";`, ["node:sqlite"], false, true],
    [`import { isIP } from "node:net";`, ["node:net"], false, false],
    [`import { createServer } from "node:net";`, ["node:net"], true, false],
    [`import net from "node:net";`, ["node:net"], true, false],
    [`import * as tls from "node:tls";`, ["node:tls"], true, false],
    [`import "node:net";`, ["node:net"], true, false],
    [`import http from "node:http";`, ["node:http"], true, false],
    [`Deno.serve(() => new Response());`, [], true, false],
    [`const tls = await Deno.startTls(conn);`, [], true, false],
    [`const l = Deno.listen({ port: 0 });`, [], true, false],
    [`const c = await Deno.connectTls(options);`, [], true, false],
    [`const open = Deno.connect;`, [], true, false],
    [`await fetch("https://example.com");`, [], true, false],
    [`const reply = await this.#fetch(name);`, [], false, false],
    [`// Deno.connectTls is not used here\nconst x = 1;`, [], false, false],
  ];
  for (const [source, specs, sockets, sqlite] of cases) {
    assert.deepEqual(importsOf(source).map((i) => i.spec), specs, source);
    assert.equal(opensSockets(source), sockets, source);
    assert.equal(importsSqlite(source), sqlite, source);
  }
});

Deno.test("nothing the server runs imports e2e/ or client/", async () => {
  const files = await sources();
  const reached = [...closure("server/command.ts", files)];
  assert.ok(reached.includes("server/session.ts"), "the walk follows imports");
  assert.ok(reached.includes("protocol/frames.ts"), "the walk follows imports across folders");
  assert.deepEqual(reached.filter((f) => f.startsWith("e2e/") || f.startsWith("client/")), []);
});

Deno.test("only db/sqlite/ touches SQLite, and only the edge files open sockets", async () => {
  const files = await sources();
  const program = [...files].filter(([file]) =>
    !file.endsWith("_test.ts") && !TEST_FOLDERS.some((folder) => file.startsWith(folder))
  );
  // The rules below hold only if the walk found the program and the detectors fire on it.
  assert.ok(program.length >= 30, `found only ${program.length} program files`);
  const sqlite = program.filter(([, source]) => importsSqlite(source)).map(([file]) => file);
  const sockets = program.filter(([, source]) => opensSockets(source)).map(([file]) => file);
  assert.ok(sqlite.length > 0, "some file in db/sqlite/ imports node:sqlite");
  assert.deepEqual(
    sqlite.filter((file) => !file.startsWith("db/sqlite/")),
    [],
    "SQLite outside db/sqlite/",
  );
  assert.deepEqual(sockets.sort(), [...SOCKET_EDGES].sort(), "the files that open sockets");
});

Deno.test("the program never imports tests/, testing/ or bench/; bench/ and testing/ never import tests/", async () => {
  const files = await sources();
  const offences: string[] = [];
  for (const [file, source] of files) {
    const folder = file.split("/")[0] + "/";
    for (const { spec } of importsOf(source)) {
      if (!spec.startsWith(".")) continue;
      const target = relative(ROOT, join(ROOT, file, "..", spec));
      const targetFolder = target.split("/")[0] + "/";
      const isTest = file.endsWith("_test.ts") || TEST_FOLDERS.includes(folder);
      if (!isTest && TEST_FOLDERS.includes(targetFolder)) offences.push(`${file} -> ${target}`);
      if ((folder === "bench/" || folder === "testing/") && targetFolder === "tests/") {
        offences.push(`${file} -> ${target}`);
      }
    }
  }
  assert.ok(
    files.has("testing/chat.ts") && files.has("bench/run.ts"),
    "the walk found testing/ and bench/",
  );
  assert.deepEqual(offences, []);
});

Deno.test("each engine stays in its folder, and sessions see only the interfaces", async () => {
  const files = await sources();
  const engineFolders = ["db/sqlite/", "db/postgres/", "server/bus/"];
  for (const [file, source] of files) {
    if (file.endsWith("_test.ts") || TEST_FOLDERS.some((folder) => file.startsWith(folder))) {
      continue;
    }
    // npm engines are loaded by computed specifiers, so match the names anywhere.
    if (/["'`]npm:postgres@/.test(source)) {
      assert.ok(file.startsWith("db/postgres/"), `${file} loads the PostgreSQL driver`);
    }
    if (/["'`]npm:@nats-io\//.test(source)) {
      assert.equal(file, "server/bus/nats.ts", `${file} loads the NATS client`);
    }
    const reached = [...closure(file, files)];
    if (["server/session.ts", "server/hub.ts", "server/delivery.ts"].includes(file)) {
      const engines = reached.filter((f) => engineFolders.some((d) => f.startsWith(d)));
      assert.deepEqual(engines.filter((f) => f !== "server/bus/bus.ts"), [], `${file}`);
    }
  }
  assert.ok(files.has("db/store.ts") && files.has("server/bus/bus.ts"), "the interfaces exist");
});
