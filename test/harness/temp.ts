import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TEMP_PREFIX = "rfb-test-";

/**
 * Temp dirs are named rfb-test-<run>-<label>-XXXXXX, where <run> is the pid of the Vitest main
 * process (set by test/global-setup.ts) or else of this process. Anything mentioning such a
 * dir can then be traced to its run, and the global teardown can tell a live run's servers
 * from the leftovers of a run that died.
 */
export function runTag(): string {
  return process.env.RFB_TEST_RUN ?? String(process.pid);
}

/** The run pids named by every temp dir mentioned in `text` (a path, a command line). */
export function runsMentioned(text: string): number[] {
  return [...text.matchAll(/rfb-test-(\d+)-/g)].map((match) => Number(match[1]));
}

export interface TempRoot {
  path: string;
  /** Removes the dir, unless RFB_KEEP_TEMP is set (to look at logs after a failure). */
  cleanup(): Promise<void>;
}

export async function makeTempRoot(label: string): Promise<TempRoot> {
  const safeLabel = label.replace(/[^A-Za-z0-9_.]+/g, "_").slice(0, 40);
  const path = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${runTag()}-${safeLabel}-`));
  return {
    path,
    async cleanup() {
      if (!process.env.RFB_KEEP_TEMP) await rm(path, { recursive: true, force: true });
    },
  };
}
