/**
 * The import graph is part of the design (STYLE.md): the server cannot
 * decrypt what it cannot even import, each storage engine and each bus stays
 * in its own folder behind one interface, and only the edge files open sockets.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

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

function imports(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)]
    .map((m) => m[1])
    .concat([...source.matchAll(/import\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]));
}

/** Every module `file` reaches through relative imports, itself included. */
function closure(file: string, files: Map<string, string>): Set<string> {
  const seen = new Set<string>();
  const stack = [file];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (seen.has(current) || !files.has(current)) continue;
    seen.add(current);
    for (const spec of imports(files.get(current)!)) {
      if (spec.startsWith(".")) stack.push(relative(ROOT, join(ROOT, current, "..", spec)));
    }
  }
  return seen;
}

Deno.test("nothing the server runs imports e2e/ or client/", async () => {
  const files = await sources();
  const reached = [...closure("server/command.ts", files)];
  assert.ok(reached.includes("server/session.ts"), "the walk follows imports");
  assert.deepEqual(reached.filter((f) => f.startsWith("e2e/") || f.startsWith("client/")), []);
});

Deno.test("only db/ touches SQLite, and only the edge files open sockets", async () => {
  const files = await sources();
  for (const [file, source] of files) {
    if (file.endsWith("_test.ts") || file.startsWith("tests/") || file.startsWith("bench/")) {
      continue;
    }
    const specs = imports(source);
    if (specs.includes("node:sqlite")) {
      assert.ok(file.startsWith("db/sqlite/"), `${file} imports node:sqlite`);
    }
    if (
      specs.includes("node:tls") || /Deno\.(connectTls|listenTls|connect|listen)\(/.test(source)
    ) {
      assert.ok(
        ["server/listener.ts", "client/connection.ts"].includes(file),
        `${file} opens sockets`,
      );
    }
  }
});

Deno.test("each engine stays in its folder, and sessions see only the interfaces", async () => {
  const files = await sources();
  const engineFolders = ["db/sqlite/", "db/postgres/", "server/bus/"];
  for (const [file, source] of files) {
    if (file.endsWith("_test.ts") || file.startsWith("tests/") || file.startsWith("bench/")) {
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
