/**
 * What the kernel says processes have used: CPU time (utime + stime from
 * /proc/PID/stat, proc(5)), resident memory (VmRSS from /proc/PID/status),
 * each summed over a process and all its descendants, so that a system is
 * charged for every process it runs; and how busy the whole machine is
 * (/proc/stat), to wait for a quiet moment before a measured run.
 */

const TICKS_PER_SECOND = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64

/** The fields of /proc/PID/stat after the command name (which may hold spaces). */
function statFields(pid: number | "self"): string[] | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null; // gone
  }
}

/** CPU time used so far by process `pid` (user + system, all threads), in ms. */
export function cpuMs(pid: number | "self"): number {
  const fields = statFields(pid);
  if (fields === null) return 0;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** `roots` and every live process descended from them. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const fields = statFields(Number(entry.name));
    if (fields === null) continue;
    const parent = Number(fields[1]);
    children.set(parent, [...children.get(parent) ?? [], Number(entry.name)]);
  }
  const out: number[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...children.get(pid) ?? []);
  }
  return out;
}

/**
 * CPU time used so far by process `pid` and by its children that have
 * exited and been waited for (cutime + cstime), in ms.
 */
function cpuWithReapedMs(pid: number): number {
  const fields = statFields(pid);
  if (fields === null) return 0;
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU time of `roots` and their descendants, in ms: the live ones, and those
 * that exited meanwhile (a PostgreSQL backend or autovacuum worker that ends
 * during a measurement is charged to the postmaster once it reaps it).
 */
export function treeCpuMs(roots: readonly number[]): number {
  return processTree(roots).reduce((sum, pid) => sum + cpuWithReapedMs(pid), 0);
}

/** Resident memory of process `pid`, in KiB. */
export function rssKiB(pid: number | "self"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** Resident memory of `roots` and their descendants, in KiB. */
export function treeRssKiB(roots: readonly number[]): number {
  return processTree(roots).reduce((sum, pid) => {
    try {
      return sum + rssKiB(pid);
    } catch {
      return sum; // gone
    }
  }, 0);
}

function machineTicks(): { busy: number; total: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + (steal ?? 0);
  return { busy, total: busy + idle + iowait };
}

/** Cores the whole machine kept busy (every process) over the next `ms`. */
export async function machineBusyCores(ms: number): Promise<number> {
  const before = machineTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = machineTicks();
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return ((after.busy - before.busy) / total) * navigator.hardwareConcurrency;
}
