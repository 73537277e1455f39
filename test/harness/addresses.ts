import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Each test topology gets its own block of loopback addresses (127.A.B.x), so test files
 * running in parallel never collide and every "machine" has its own IP, as in production.
 * Only loopback addresses are ever produced.
 *
 * A block is claimed with a lock file (created exclusively, holding the owner's pid) in a
 * directory shared by every process on the machine: parallel Vitest workers, concurrent test
 * runs and the bench. A lock whose owner is gone is taken over; a process drops its own locks
 * when it exits.
 */
export interface AddressBlock {
  ip(hostIndex: number): string;
}

/** Not named rfb-test-*: the global sweep removes those dirs, these locks outlive a run. */
const LOCK_DIR = join(tmpdir(), "rfb-loopback-blocks");

const ownLocks = new Set<string>();
process.once("exit", () => {
  for (const file of ownLocks) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
});

/** The pid in a lock file; undefined while it cannot be read (being written, just released). */
function lockOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    // Empty while its creator has not written the pid yet: treat as taken.
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2)[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Creates `file` holding our pid, unless another live process holds it. */
function claim(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const stale = lockOwner(file);
  if (stale === undefined || isAlive(stale)) return false;
  // A stale lock: moving it aside is atomic, so of several claimants only one gets it.
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
    // Another claimant may have replaced the stale lock in between: give its lock back.
    if (lockOwner(aside) !== stale) {
      renameSync(aside, file);
      return false;
    }
    unlinkSync(aside);
  } catch {
    return false;
  }
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}

export function allocateAddressBlock(): AddressBlock {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const a = 100 + Math.floor(Math.random() * 100);
    const b = 1 + Math.floor(Math.random() * 254);
    const file = join(LOCK_DIR, `127.${a}.${b}`);
    if (ownLocks.has(file) || !claim(file)) {
      if (attempt > 10_000) throw new Error(`no free loopback address block in ${LOCK_DIR}`);
      continue;
    }
    ownLocks.add(file);
    return {
      ip(hostIndex: number) {
        if (hostIndex < 1 || hostIndex > 254)
          throw new Error(`host index out of range: ${hostIndex}`);
        return `127.${a}.${b}.${hostIndex}`;
      },
    };
  }
}

/** A TCP port that is free on `host` right now (the kernel picks it). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
