import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrap } from "../../src/app/bootstrap.js";
import { openState, stateDirectory, stateSettings } from "../../src/app/state.js";
import { RunCoordinator } from "../../src/state/run-coordinator.js";
import type { Machine, TestTopology } from "../harness/topology.js";
import { info, replicatedPair } from "./helpers.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");

let topology: TestTopology;
beforeAll(async () => {
  ({ topology } = await replicatedPair());
});
afterAll(async () => {
  await topology?.close();
});

describe("where the state lives", () => {
  it("does not depend on the working directory: XDG_STATE_HOME, else ~/.local/state; a relative STATE_DIR is next to the inventory", () => {
    expect(stateDirectory({ XDG_STATE_HOME: "/var/lib/x" })).toBe("/var/lib/x/redis-failover");
    expect(stateDirectory({ HOME: "/home/op" })).toBe("/home/op/.local/state/redis-failover");
    expect(stateDirectory({ STATE_DIR: "/srv/state" }, "/etc/rf/inventory.yml")).toBe("/srv/state");
    expect(stateDirectory({ STATE_DIR: "./state" }, "/etc/rf/inventory.yml")).toBe("/etc/rf/state");
  });

  it("the CLI started from another directory sees the lock the bot holds, and says where its state lives on stderr only", {
    timeout: 60_000,
  }, async () => {
    const env = { STATE_DIR: "./state", INVENTORY_FILE: topology.inventoryPath };
    // The bot's way of opening its state (src/slack/main.ts), holding the cluster's lock.
    const { engine, log, secrets } = await bootstrap({ env, logLevel: "warn" });
    const settings = stateSettings(env, engine.inventory.path);
    const { backend, journal } = await openState({
      settings,
      inventory: engine.inventory,
      env,
      log,
      secrets,
    });
    const coordinator = new RunCoordinator({
      engine,
      journal,
      locks: backend.locks,
      leaseMs: 60_000,
      log,
      instance: "the-bot",
    });
    const lock = await coordinator.lock({ runId: "fo-held-by-the-bot", cluster: "cache-test" });
    expect(lock.ok).toBe(true);
    try {
      const elsewhere = join(topology.root, "somewhere", "else");
      await mkdir(elsewhere, { recursive: true });
      const result = await run(
        process.execPath,
        [
          "--import",
          import.meta.resolve("tsx"),
          "-e",
          `import(${JSON.stringify(join(repo, "src/cli/main.ts"))}).then((cli) => cli.main()).then(() => process.exit(process.exitCode ?? 0))`,
          "--",
          // With -e there is no script path: this stands in for it in process.argv.
          "redis-failover",
          "failover",
          "cache-test",
          "--mode",
          "switchover",
          "--yes",
          "--json",
        ],
        { cwd: elsewhere, env: { PATH: process.env.PATH, HOME: elsewhere, ...env } },
      ).catch((error: { code: number; stdout: string; stderr: string }) => error);
      const { stdout, stderr } = result as { stdout: string; stderr: string };
      expect((result as { code?: number }).code).toBe(1);
      expect(stderr).toContain(`state: file:${join(topology.root, "state")}`);
      // stdout stays JSON lines only: the plan, then the refusal naming the bot's run.
      const lines = stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(JSON.stringify(lines.at(-1))).toMatch(/fo-held-by-the-bot/);
      expect(stdout).not.toContain("state: file:");
      // Nothing changed: machine-a is still the master, machine-b its replica.
      const m = topology.machines as Record<string, Machine>;
      expect((await info(m["machine-a"]!)).role).toBe("master");
      expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
    } finally {
      if (lock.ok) await lock.lease.release();
      await backend.close();
      await engine.close();
    }
  });
});
