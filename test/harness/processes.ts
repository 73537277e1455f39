import { readFileSync, readlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll } from "vitest";

/**
 * Registry of every process the harness starts, so that a failing test never leaks one.
 * Processes are registered by pid (our children) or by pidfile (daemons started by a command
 * we ran, which are not our children). reapAll() kills them all; reapAfterAll() installs it
 * per test file, and test/global-setup.ts sweeps whatever still escaped.
 */
const processes = new Map<number, string>();
const pidFiles = new Set<string>();

export function registerProcess(pid: number, description: string): void {
  processes.set(pid, description);
}

export function unregisterProcess(pid: number): void {
  processes.delete(pid);
}

export function registerPidFile(path: string): void {
  pidFiles.add(path);
}

export function unregisterPidFile(path: string): void {
  pidFiles.delete(path);
}

/** Linux process state letter (R, S, T, Z, ...) or undefined when there is no such process. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in parentheses may contain spaces; the state follows the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2)[0];
  } catch {
    return undefined;
  }
}

/**
 * Zombies count as gone: a daemon's parent is init, and the init of this VM never reaps, so a
 * killed daemon stays a zombie forever (it holds no port, file or memory).
 */
export function isRunning(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

/** NUL-separated arguments joined by spaces; "" for zombies and vanished processes. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

export function workingDir(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return "";
  }
}

/** Resolves true once the process is gone, false if it is still there after timeoutMs. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
export async function terminate(pid: number, graceMs = 5_000): Promise<void> {
  if (!isRunning(pid)) return;
  signal(pid, "SIGTERM");
  signal(pid, "SIGCONT"); // a stopped (SIGSTOP) process only acts on SIGTERM once continued
  if (await waitForExit(pid, graceMs)) return;
  await killAndWait(pid);
}

export async function killAndWait(pid: number): Promise<void> {
  signal(pid, "SIGKILL");
  if (!(await waitForExit(pid, 10_000))) throw new Error(`process ${pid} survived SIGKILL`);
}

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Guards against a stale pidfile whose pid now belongs to an unrelated process: the process
 * must run in, or name in its command line, the pidfile's directory, and must not be us.
 */
export function ownsPidFile(pid: number, pidFile: string): boolean {
  if (pid === process.pid || pid === process.ppid) return false;
  const dir = `${dirname(pidFile)}/`;
  return commandLine(pid).includes(dir) || `${workingDir(pid)}/`.startsWith(dir);
}

/** Kills every registered process that is still running; returns their descriptions. */
export async function reapAll(): Promise<string[]> {
  const targets = new Map(processes);
  for (const pidFile of pidFiles) {
    const pid = await readPidFile(pidFile);
    if (pid !== undefined && !targets.has(pid) && ownsPidFile(pid, pidFile))
      targets.set(pid, `pid from ${pidFile}`);
  }
  processes.clear();
  pidFiles.clear();
  const running = [...targets].filter(([pid]) => isRunning(pid));
  await Promise.all(running.map(([pid]) => killAndWait(pid)));
  return running.map(([pid, description]) => `${pid} (${description})`);
}

/** Call at the top level of a test file: reaps whatever the file left running, even on failure. */
export function reapAfterAll(): void {
  afterAll(async () => {
    await reapAll();
  });
}
