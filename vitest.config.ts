import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

/**
 * Test files run in parallel worker processes. They mostly wait on real redis-server and sshd
 * processes rather than compute, so twice as many workers as cores (at least 4) keeps a 2-core
 * machine busy. Files stay out of each other's way: each topology claims its own loopback
 * address block (test/harness/addresses.ts), ports come from the kernel, temp dirs are unique.
 * RFB_TEST_WORKERS overrides the count (1 runs the files one after another).
 */
const workers = Number(process.env.RFB_TEST_WORKERS) || Math.max(4, 2 * availableParallelism());

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Kills leaked redis-server/sshd processes (with a warning) and removes old temp dirs.
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    maxWorkers: workers,
    // Hang detectors, not speed limits: generous enough for a busy, shared 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Real redis-server and sshd processes: a hung test must fail, never be retried until green.
    retry: 0,
  },
});
