/**
 * What the kernel says a process has used: CPU time (utime + stime from
 * /proc/PID/stat, proc(5)) and resident memory (VmRSS from /proc/PID/status).
 */

const TICKS_PER_SECOND = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64

/** CPU time used so far by process `pid` (user + system), in ms. */
export function cpuMs(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name is in parentheses and may contain spaces: split after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory of process `pid`, in KiB. */
export function rssKiB(pid: number | "self"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}
