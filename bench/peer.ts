/**
 * The peer under comparison: InspIRCd 3 (Debian package `inspircd`), over
 * TLS 1.3 with the same Ed25519 server certificate chat uses, configured by
 * bench/inspircd/inspircd.conf (throttles lifted; each change documented
 * there). Installed when missing and possible (root, apt-get); started and
 * stopped by this bench only, by PID.
 */

import { join } from "node:path";

const BINARY = "/usr/sbin/inspircd";
const CONFIG = new URL("./inspircd/inspircd.conf", import.meta.url);

async function run(command: string, args: string[]): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "null",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

function installed(): boolean {
  try {
    return Deno.statSync(BINARY).isFile;
  } catch {
    return false;
  }
}

/** Makes InspIRCd available; returns why not when it cannot. */
export async function ensureInspircd(): Promise<string | null> {
  if (installed()) return null;
  if (Deno.uid() !== 0) return "InspIRCd is not installed and this is not root";
  if (!(await run("apt-get", ["install", "-y", "-qq", "inspircd"]))) {
    await run("apt-get", ["update", "-qq"]);
    if (!(await run("apt-get", ["install", "-y", "-qq", "inspircd"]))) {
      return "apt-get install inspircd failed";
    }
  }
  // The package may start its own service (not where systemd is absent): stop it.
  await run("service", ["inspircd", "stop"]);
  return installed() ? null : "inspircd is still missing after installing it";
}

export interface RunningPeer {
  port: number;
  pids: number[];
  stop(): Promise<void>;
}

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts InspIRCd with `certFile`/`keyFile` on a free loopback port; resolves once it accepts. */
export async function startInspircd(certFile: string, keyFile: string): Promise<RunningPeer> {
  const dir = await Deno.makeTempDir({ prefix: "chat-bench-inspircd-" });
  const port = freePort();
  const config = (await Deno.readTextFile(CONFIG))
    .replaceAll("@CERT@", certFile)
    .replaceAll("@KEY@", keyFile)
    .replaceAll("@PORT@", String(port))
    .replaceAll("@LOG@", join(dir, "inspircd.log"))
    .replaceAll("@PID@", join(dir, "inspircd.pid"));
  await Deno.writeTextFile(join(dir, "inspircd.conf"), config);
  const root = Deno.uid() === 0 ? " --runasroot" : "";
  // No core files: InspIRCd 3.15 dumps core when it is stopped (seen here).
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -c 0; exec ${BINARY} --config=${join(dir, "inspircd.conf")} --nofork${root}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`InspIRCd did not start (see ${dir})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    pids: [child.pid],
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
