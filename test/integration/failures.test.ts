import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PlanOutcome } from "../../src/plan/types.js";
import { allocateAddressBlock } from "../harness/addresses.js";
import {
  loadData,
  type RedisServer,
  startRedis,
  startRedisFromSnapshot,
  waitForReplicaSync,
} from "../harness/redis-server.js";
import { startSentinel } from "../harness/sentinel.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { client, dbsize, info } from "./helpers.js";

let topology: TestTopology | undefined;
const extraServers: RedisServer[] = [];
afterEach(async () => {
  await Promise.allSettled(extraServers.splice(0).map((server) => server.stop()));
  await topology?.close();
  topology = undefined;
});

const server = (machine: Machine) => machine.server as RedisServer;

/** A (master) holding `keys` keys and B, its replica, caught up. */
async function masterAndReplica(keys: number, valueBytes: number) {
  topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
  ]);
  const m = topology.machines as Record<string, Machine>;
  const [a, b] = [m["machine-a"], m["machine-b"]] as [Machine, Machine];
  const loaded = await loadData(server(a), { keys, valueBytes });
  await waitForReplicaSync(server(a), server(b));
  return { topology, a, b, keys: loaded };
}

describe("the failures that really happen", () => {
  it("confirms a hung master through a replica that stopped hearing it, promotes, and fences it when it returns with writes of its own, keeping them", async () => {
    const { topology: t, a, b, keys } = await masterAndReplica(1_000, 16);
    // One ping a second: "two pings missed" comes after 2 s instead of 20 s; repl-timeout stays 60 s.
    for (const machine of [a, b])
      await server(machine).client().config("SET", "repl-ping-replica-period", "1");
    const engine = await t.engine();

    await server(a).pause();
    let outcome: PlanOutcome | undefined;
    try {
      await expect
        .poll(
          async () => {
            outcome = await engine.plan({ cluster: "cache-test", mode: "promote" });
            return outcome.ok;
          },
          { timeout: 60_000, interval: 200 },
        )
        .toBe(true);
      if (!outcome?.ok) throw new Error("no plan");
      const plan = outcome.plan;
      // B's link is still up (repl-timeout has not passed): the silence itself is the evidence.
      expect(plan.assessment.evidence.join("\n")).toMatch(
        /machine-b: master_link_status:up but nothing heard from the master for \d+ s/,
      );
      const result = await engine.execute(plan);
      expect(result.ok).toBe(true);
      expect(result.facts.unfenced?.name).toBe("machine-a");
      expect(result.warnings.join("\n")).toMatch(
        /redis-failover fence cache-test --host machine-a/,
      );
      expect((await info(b)).role).toBe("master");

      // A comes back, still a master, and takes writes of its own: a split brain.
      await server(a).resume();
      const redisA = client(a);
      try {
        for (let i = 0; i < 100; i++) expect(await redisA.set(`own:${i}`, String(i))).toBe("OK");
      } finally {
        redisA.disconnect();
      }
      expect((await info(a)).role).toBe("master");

      const fencing = await engine.planFence("cache-test", undefined, {
        lastRun: { runId: plan.runId, newMaster: plan.newMaster },
      });
      if (!fencing.ok) throw new Error(fencing.refusal.reason);
      expect(fencing.plan.modeReason).toMatch(/machine-b is the current master \(the journal/);
      const fenced = await engine.execute(fencing.plan);
      expect(fenced.ok).toBe(true);
      const kept = fenced.facts.kept?.[0];
      expect(kept?.path).toBe(join(a.dir, `dump.rdb.before-${fencing.plan.runId}`));
      expect(kept?.divergedBytes).toBeGreaterThan(0);
      expect(fenced.warnings.join("\n")).toMatch(/kept on machine-a as .*dump\.rdb\.before-/);

      // Every server's role, and nothing lost: A follows B with B's data, A's own writes are in the kept file.
      await expect.poll(async () => (await info(a)).master_link_status).toBe("up");
      expect((await info(a)).master_host).toBe(b.ip);
      expect((await info(b)).role).toBe("master");
      await expect.poll(() => dbsize(a)).toBe(keys);
      const scratch = await startRedisFromSnapshot(kept?.path ?? "", join(t.root, "scratch"));
      extraServers.push(scratch);
      expect(await scratch.client().dbsize()).toBe(keys + 100);
      expect(await scratch.client().get("own:99")).toBe("99");
    } finally {
      await server(a).resume();
    }
  }, 240_000);

  it("refuses a Redis Cluster node at preflight and says why", async () => {
    const { topology: t, a, b, keys } = await masterAndReplica(100, 8);
    // B is rebuilt as a cluster-enabled node at the same address.
    await server(b).stop();
    const node = await startRedis({
      name: "machine-b",
      host: b.ip,
      port: b.port,
      dir: join(t.root, "cluster-node"),
      extra: { "cluster-enabled": "yes", "cluster-config-file": "nodes.conf" },
    });
    extraServers.push(node);
    const engine = await t.engine();
    const outcome = await engine.plan({ cluster: "cache-test" });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok)
      expect(outcome.refusal.reason).toMatch(
        /machine-b is a Redis Cluster node \(cluster_enabled:1\): it refuses REPLICAOF/,
      );
    const { assessment } = await engine.status("cache-test");
    expect(assessment.problems.join("\n")).toMatch(/cluster_enabled:1/);
    // Nothing was touched.
    expect((await info(a)).role).toBe("master");
    expect(await dbsize(a)).toBe(keys);
    expect((await info(b)).role).toBe("master");
    expect(await dbsize(b)).toBe(0);
  });

  it("notices the Sentinel that manages the master and refuses a failover behind its back", async () => {
    const { topology: t, a, b, keys } = await masterAndReplica(100, 8);
    const sentinel = await startSentinel({
      dir: join(t.root, "sentinel"),
      host: allocateAddressBlock().ip(1),
      master: a,
      replicas: 1,
    });
    try {
      const engine = await t.engine();
      const { assessment } = await engine.status("cache-test");
      expect(assessment.evidence.join("\n")).toMatch(
        /sentinel: machine-a has \d+ Sentinel\(s\) subscribed to __sentinel__:hello/,
      );
      const outcome = await engine.plan({ cluster: "cache-test", mode: "switchover" });
      if (outcome.ok) throw new Error("a switchover behind Sentinel's back was planned");
      expect(outcome.refusal.reason).toMatch(/Sentinel manages this cluster/);
      expect(outcome.refusal.advice).toMatch(/SENTINEL FAILOVER/);
    } finally {
      await sentinel.stop();
    }
    // Nothing was touched.
    expect((await info(a)).role).toBe("master");
    expect((await info(b)).master_host).toBe(a.ip);
    expect(await dbsize(b)).toBe(keys);
  });
});
