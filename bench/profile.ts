/**
 * Reads a CPU profile written by `deno task bench --profile DIR` (V8's
 * .cpuprofile format) and prints where the server's busy time went: self
 * time per function, largest first, with the garbage collector's share.
 *
 *   deno run --allow-read bench/profile.ts FILE.cpuprofile [TOP]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [path, top = "30"] = Deno.args;
const profile: Profile = JSON.parse(await Deno.readTextFile(path));
const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
const byFunction = new Map<string, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const frame = frames.get(profile.samples[i])!;
  const where = frame.url === ""
    ? ""
    : ` ${frame.url.replace(/^file:\/\/.*?\/(?=[a-z_]+\/)/, "")}:${frame.lineNumber + 1}`;
  const key = `${frame.functionName || "(anonymous)"}${where}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const idle = byFunction.get("(idle)") ?? 0;
byFunction.delete("(idle)");
const busy = [...byFunction.values()].reduce((a, b) => a + b, 0);
console.log(`busy ${(busy / 1000).toFixed(0)} ms (idle ${(idle / 1000).toFixed(0)} ms)`);
for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(
    `${(100 * us / busy).toFixed(1).padStart(5)}%  ${
      (us / 1000).toFixed(0).padStart(6)
    } ms  ${key}`,
  );
}
