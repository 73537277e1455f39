import { readdirSync, readFileSync } from "node:fs";

/**
 * Linux /proc helpers for the test harnesses: find a process tree or the processes carrying an
 * environment marker, kill them, and wait until they are gone (reaped or zombie).
 */

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
}

function readStat(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may itself contain spaces or parentheses.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const [state, ppid] = stat.slice(close + 2).split(" ");
    return { pid, comm: stat.slice(open + 1, close), state: state ?? "?", ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

export function isAlive(pid: number): boolean {
  const info = readStat(pid);
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

/** Every live descendant of `root` (not `root` itself), with its command name. */
export function descendants(root: number): Array<{ pid: number; comm: string }> {
  const infos = allPids()
    .map(readStat)
    .filter((info): info is ProcInfo => info !== undefined && isAlive(info.pid));
  const found: Array<{ pid: number; comm: string }> = [];
  const queue = [root];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const info of infos) {
      if (info.ppid !== parent) continue;
      found.push({ pid: info.pid, comm: info.comm });
      queue.push(info.pid);
    }
  }
  return found;
}

/** Live processes whose environment contains exactly `entry` ("NAME=value"). */
export function processesWithEnv(entry: string): number[] {
  return allPids().filter((pid) => {
    if (pid === process.pid || !isAlive(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(entry);
    } catch {
      return false;
    }
  });
}

export function killPids(pids: Iterable<number>, signal: NodeJS.Signals = "SIGKILL"): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function waitUntilGone(pids: number[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still alive: ${alive.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
