import { readdirSync, readFileSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { commandLine, isRunning, killAndWait, workingDir } from "./harness/processes.js";
import { runsMentioned, TEMP_PREFIX } from "./harness/temp.js";

/**
 * Final safety net for processes the tests start (redis-server, daemonized or not, and sshd):
 * anything still running that names an rfb-test- temp dir of this run, or of a run that is no
 * longer alive, is killed with a warning that names it, so a leak is visible rather than hidden.
 * Servers of other, concurrent test runs are left alone.
 */
export default async function setup(): Promise<() => Promise<void>> {
  // Inherited by the test workers: temp dirs are named after this run (see harness/temp.ts).
  const thisRun = process.pid;
  process.env.RFB_TEST_RUN = String(thisRun);
  await sweep((run) => run !== thisRun && !isRunning(run));
  return async () => {
    await sweep((run) => run === thisRun || !isRunning(run));
    await initReapsZombies();
  };
}

/**
 * Killed daemons are reparented to init, which in this VM reaps only every couple of seconds;
 * wait for that, so that `pgrep redis-server` is empty once the run is over.
 */
async function initReapsZombies(timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const zombie = (pid: number) => {
    const [state, ppid] = stat(pid);
    return (
      state === "Z" && ppid === "1" && ["redis-server", "valkey-server", "sshd"].includes(comm(pid))
    );
  };
  while (listPids().some(zombie) && Date.now() < deadline) await sleep(100);
}

/**
 * Kills the processes that name a temp dir of a run for which `isLeftoverRun(run)` holds (the
 * pid in "rfb-test-<run>-"), and removes those dirs. Returns "pid command line" of each.
 */
export async function sweep(isLeftoverRun: (run: number) => boolean): Promise<string[]> {
  const isLeftover = (text: string) => runsMentioned(text).some(isLeftoverRun);

  const spared = ancestors();
  const leftovers = listPids().filter((pid) => {
    if (spared.has(pid) || !isRunning(pid)) return false;
    if (isLeftover(commandLine(pid))) return true;
    // A redis-server (or valkey-server) whose process title lost its config path still runs in
    // its data dir.
    return /^(redis|valkey)/.test(comm(pid)) && isLeftover(workingDir(pid));
  });
  const killed = leftovers.map(
    (pid) => `${pid} ${commandLine(pid) || comm(pid)} (cwd ${workingDir(pid)})`,
  );
  for (const description of killed) {
    console.warn(`[rfb-test] killing leftover process ${description}`);
  }
  await Promise.all(leftovers.map((pid) => killAndWait(pid)));

  if (!process.env.RFB_KEEP_TEMP) {
    const dirs = (await readdir(tmpdir())).filter(
      (name) => name.startsWith(TEMP_PREFIX) && isLeftover(name),
    );
    await Promise.all(
      dirs.map((name) => rm(join(tmpdir(), name), { recursive: true, force: true })),
    );
  }
  return killed;
}

function listPids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** The fields of /proc/<pid>/stat after the command name: state, ppid, ... */
function stat(pid: number): string[] {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return [];
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** This process and its ancestors: never to be killed, whatever their command line says. */
function ancestors(): Set<number> {
  const pids = new Set<number>();
  for (let pid = process.pid; pid > 1 && !pids.has(pid); ) {
    pids.add(pid);
    pid = Number(stat(pid)[1]);
  }
  return pids;
}
