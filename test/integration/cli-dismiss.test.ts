import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrap } from "../../src/app/bootstrap.js";
import { openState, stateSettings } from "../../src/app/state.js";
import type { Machine, TestTopology } from "../harness/topology.js";
import { info, planOrThrow, replicatedPair, runCliCaptured } from "./helpers.js";

let topology: TestTopology;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  ({ topology } = await replicatedPair());
  env = { STATE_DIR: "./cli-state", INVENTORY_FILE: topology.inventoryPath };
});
afterAll(async () => {
  await topology?.close();
});

function cli(args: string[]) {
  return runCliCaptured(args, { env });
}

describe("redis-failover dismiss", () => {
  it("abandons an interrupted run with who and why, refuses a finished one, and needs --reason and a confirmation", async () => {
    // An interrupted Slack run, as the journal would hold it after its executor died.
    const { engine, log, secrets } = await bootstrap({ env, logLevel: "warn" });
    const { backend, journal } = await openState({
      settings: stateSettings(env, engine.inventory.path),
      inventory: engine.inventory,
      env,
      log,
      secrets,
    });
    try {
      const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "switchover" });
      await journal.requested(plan, {
        source: "slack",
        requester: "U0ALICE",
        channel: "C0INCIDENT",
        dryRun: false,
      });
      await journal.decided(plan, "approved", "U0BOB");
      await journal.runStarted(plan, {
        instance: "gone",
        fencingToken: 1,
        attempt: 1,
        fromStep: 1,
      });
      await journal.interrupted(plan, "gone", 1);

      const noReason = await cli(["dismiss", "cache-test", plan.runId, "--reason", " ", "--yes"]);
      expect(noReason.code).toBe(2);
      expect(noReason.stderr).toMatch(/--reason <text> is required/);
      const noTerminal = await cli([
        "dismiss",
        "cache-test",
        plan.runId,
        "--reason",
        "repaired by hand",
      ]);
      expect(noTerminal.code).toBe(2);
      expect((await journal.run(plan.runId))?.state).toBe("interrupted");

      const done = await cli([
        "dismiss",
        "cache-test",
        plan.runId,
        "--reason",
        "repaired by hand",
        "--yes",
      ]);
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/Dismissed run .* cache-test can be planned again/);
      const run = await journal.run(plan.runId);
      expect(run?.state).toBe("dismissed");
      expect(run?.decidedBy).toMatch(/^cli:/);
      expect(run?.dismissReason).toBe("repaired by hand");

      const again = await cli(["dismiss", "cache-test", plan.runId, "--reason", "twice", "--yes"]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(
        /this run is dismissed; only an unfinished run can be dismissed/,
      );
      // Nothing on the servers changed: A master, B its replica.
      const m = topology.machines as Record<string, Machine>;
      expect((await info(m["machine-a"]!)).role).toBe("master");
      expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
    } finally {
      await backend.close();
      await engine.close();
    }
  });
});
