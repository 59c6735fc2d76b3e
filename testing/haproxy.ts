/**
 * Runs HAProxy (Debian `haproxy`) with the repository's configuration,
 * deploy/haproxy.cfg, on loopback: the frontend on a free port, the backend
 * pointed at the given nodes. For tests and the bench.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Engine, freePort } from "./engines.ts";

export const HAPROXY_CONFIG = fileURLToPath(new URL("../deploy/haproxy.cfg", import.meta.url));
const HAPROXY = "/usr/sbin/haproxy";

export function haproxyProblem(): string | null {
  try {
    Deno.statSync(HAPROXY);
    return null;
  } catch {
    return `haproxy not installed (no ${HAPROXY}): apt-get install haproxy`;
  }
}

/** deploy/haproxy.cfg with `bind` on `port` and one `server` line per node port. */
export function haproxyConfig(port: number, nodePorts: number[]): string {
  const text = Deno.readTextFileSync(HAPROXY_CONFIG);
  const servers = nodePorts.map((p, i) => `    server node${i + 1} 127.0.0.1:${p}`).join("\n");
  const lines = text.split("\n").filter((line) => !/^\s+server node\d+ /.test(line));
  return lines.join("\n")
    .replace(/bind \S+/, `bind 127.0.0.1:${port}`)
    .trimEnd() + "\n" + servers + "\n";
}

/** HAProxy in front of `nodePorts`; `url` is tcp://127.0.0.1:PORT. */
export async function startHaproxy(nodePorts: number[]): Promise<Engine & { port: number }> {
  const dir = await Deno.makeTempDir({ prefix: "chat-haproxy-" });
  const port = freePort();
  const config = join(dir, "haproxy.cfg");
  await Deno.writeTextFile(config, haproxyConfig(port, nodePorts));
  const check = await new Deno.Command(HAPROXY, { args: ["-c", "-q", "-f", config] }).output();
  if (check.code !== 0) {
    throw new Error(`haproxy rejects its configuration: ${new TextDecoder().decode(check.stderr)}`);
  }
  const child = new Deno.Command(HAPROXY, {
    args: ["-db", "-f", config],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Listening once a TCP connect succeeds.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited already */ }
        await child.status;
        throw new Error(`haproxy did not listen: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url: `tcp://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
