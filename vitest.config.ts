import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Kills leaked redis-server/sshd processes (with a warning) and removes old temp dirs.
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real redis-server and sshd processes: a hung test must fail, never be retried until green.
    retry: 0,
  },
});
