import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { allocateAddressBlock } from "../../test/harness/addresses.js";
import { loadData, waitForReplicaSync } from "../../test/harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../../test/harness/topology.js";
import { baselineRun, log, type Measurement, measurement } from "../lib.js";
import { startSentinel } from "./sentinel.js";
import { client, waitForLink } from "./topology.js";

/**
 * Time from the go-ahead to a new master that accepts a write: our `promote` (approved plan
 * executed) against `SENTINEL FAILOVER` on an identical topology (A lost, replicas B and D).
 */
export async function promoteVsSentinel(options: { runs: number }): Promise<Measurement> {
  const ours: number[] = [];
  const sentinel: number[] = [];
  let baselineFailed: string | undefined;
  for (let i = 0; i < options.runs; i++) {
    ours.push(
      await withTopology(async (topology, replicas) => {
        const engine = await topology.engine();
        const outcome = await engine.plan({ cluster: "cache-test", mode: "promote" });
        if (!outcome.ok) throw new Error(outcome.refusal.reason);
        const started = performance.now();
        const run = engine.execute(outcome.plan);
        run.catch(() => undefined); // awaited below; only firstWrite's failure may come first
        const writable = await firstWrite(replicas, started);
        const result = await run;
        if (!result.ok) throw new Error(`promote failed: ${result.failedStep?.error}`);
        return writable;
      }, false),
    );
    const baseline = await baselineRun("the Sentinel baseline", () =>
      withTopology(async (topology, replicas, a) => {
        const watcher = await startSentinel(
          join(topology.root, "sentinel"),
          allocateAddressBlock().ip(1),
          a,
          replicas.length,
        );
        try {
          await a.server?.kill();
          await Promise.all(replicas.map((replica) => waitForLink(replica, "down")));
          return await firstWrite(replicas, await watcher.failover());
        } finally {
          await watcher.stop();
        }
      }, true),
    );
    if ("failed" in baseline) {
      baselineFailed = baseline.failed;
      break;
    }
    sentinel.push(baseline.value);
    log(
      `promote run ${i + 1}: ours ${ours.at(-1)?.toFixed(0)} ms, Sentinel ${sentinel.at(-1)?.toFixed(0)} ms`,
    );
  }
  return measurement("promote_vs_sentinel", ours, sentinel, "ms", {
    baselineIs: "SENTINEL FAILOVER, until a write succeeds",
    goal: "ratio ≤ 0.5",
    met: (_o, _b, ratio) => ratio <= 0.5,
    baselineFailed,
  });
}

async function withTopology(
  work: (topology: TestTopology, replicas: Machine[], a: Machine) => Promise<number>,
  masterAlive: boolean,
): Promise<number> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-d", role: "replica" },
  ]);
  try {
    const m = topology.machines as Record<string, Machine>;
    const [a, b, d] = [m["machine-a"], m["machine-b"], m["machine-d"]] as [
      Machine,
      Machine,
      Machine,
    ];
    await loadData(a.server as NonNullable<Machine["server"]>, { keys: 10_000, valueBytes: 64 });
    for (const replica of [b, d])
      await waitForReplicaSync(
        a.server as NonNullable<Machine["server"]>,
        replica.server as NonNullable<Machine["server"]>,
      );
    if (!masterAlive) {
      await a.server?.kill();
      await Promise.all([b, d].map((replica) => waitForLink(replica, "down")));
    }
    return await work(topology, [b, d], a);
  } finally {
    await topology.close();
  }
}

/** Milliseconds from `started` until a SET succeeds on any of the replicas (the new master). */
async function firstWrite(
  candidates: Machine[],
  started: number,
  limitMs = 60_000,
): Promise<number> {
  const clients = candidates.map((machine) => client(machine));
  try {
    for (;;) {
      for (const redis of clients) {
        if ((await redis.set("bench:write", "1").catch(() => null)) === "OK")
          return performance.now() - started;
      }
      if (performance.now() - started > limitMs)
        throw new Error(`no new master accepted a write within ${limitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    for (const redis of clients) redis.disconnect();
  }
}

/** Sentinel's default down-after-milliseconds: what "as fast as Sentinel" is measured against. */
const SENTINEL_DEFAULT_DOWN_AFTER_MS = 30_000;

/**
 * A hung master (SIGSTOP: the kernel still accepts connections, nothing answers), with the
 * inventory's default timeouts and Redis' default replication settings. Ours: a plan is asked
 * for every second from the moment A stops until one is made, then executed at once (no human
 * in between). Baseline: Sentinel's automatic failover (default down-after 30 s, quorum 1) on
 * the same hung master, until a write succeeds.
 */
export async function promoteHungMaster(options: { runs: number }): Promise<Measurement[]> {
  const toWritable: number[] = [];
  const sentinelToWritable: number[] = [];
  const firstPlan: number[] = [];
  const goAhead: number[] = [];
  const runTotal: number[] = [];
  let connectMs = 3_000;
  for (let i = 0; i < options.runs; i++) {
    // Both wait on the same clocks (repl-timeout, down-after), not on the CPU, so they run side
    // by side on separate topologies: the quick bench then waits for the slower one only.
    const ours = withTopology(async (topology, replicas, a) => {
      connectMs = await useDefaultTimeouts(topology);
      const engine = await topology.engine();
      await a.server?.pause();
      const stopped = performance.now();
      try {
        let outcome = await engine.plan({ cluster: "cache-test", mode: "promote" });
        firstPlan.push(performance.now() - stopped);
        while (!outcome.ok) {
          if (performance.now() - stopped > 120_000)
            throw new Error(`still refused after 120 s: ${outcome.refusal.reason}`);
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          outcome = await engine.plan({ cluster: "cache-test", mode: "promote" });
        }
        const started = performance.now();
        const run = engine.execute(outcome.plan);
        goAhead.push(await firstWrite(replicas, started));
        toWritable.push(performance.now() - stopped);
        const result = await run;
        if (!result.ok) throw new Error(`promote failed: ${result.failedStep?.error}`);
        runTotal.push(result.durationMs);
        log(
          `hung master run ${i + 1}: confirmed and planned ${((started - stopped) / 1000).toFixed(1)} s after SIGSTOP (first plan ${firstPlan.at(-1)?.toFixed(0)} ms), go-ahead to writable ${goAhead.at(-1)?.toFixed(0)} ms, run ${result.durationMs} ms (${result.steps.map((step) => `${step.title.split(" ")[0]} ${step.durationMs ?? 0}`).join(", ")})`,
        );
      } finally {
        await a.server?.resume();
      }
      return 0;
    }, true);
    const sentinels = withTopology(async (topology, replicas, a) => {
      const watcher = await startSentinel(
        join(topology.root, "sentinel"),
        allocateAddressBlock().ip(1),
        a,
        replicas.length,
        { downAfterMs: SENTINEL_DEFAULT_DOWN_AFTER_MS },
      );
      try {
        await a.server?.pause();
        const stopped = performance.now();
        sentinelToWritable.push(await firstWrite(replicas, stopped, 120_000));
        log(
          `hung master run ${i + 1}: Sentinel writable ${sentinelToWritable.at(-1)?.toFixed(0)} ms after SIGSTOP`,
        );
      } finally {
        await a.server?.resume();
        await watcher.stop();
      }
      return 0;
    }, true);
    await Promise.all([ours, sentinels]);
  }
  const target = (name: string, values: number[], bound: number, what: string) =>
    measurement(name, values, [bound], "ms", {
      baselineIs: what,
      goal: "≤ target",
      met: (o) => o <= bound,
    });
  return [
    measurement("hung_master_stop_to_writable", toWritable, sentinelToWritable, "ms", {
      baselineIs: "Sentinel's automatic failover (down-after 30 s), SIGSTOP to a write",
      goal: "ratio ≤ 1",
      met: (_o, _b, ratio) => ratio <= 1,
    }),
    target("hung_master_go_ahead_to_writable", goAhead, 1_000, "target 1 s"),
    target("hung_master_promote_run", runTotal, 5_000, "target 5 s"),
    target("hung_master_first_plan", firstPlan, connectMs + 1_000, "target: connect bound + 1 s"),
  ];
}

/** Drops the harness's short Redis timeouts from the inventory: the figures are for the defaults. */
async function useDefaultTimeouts(topology: TestTopology): Promise<number> {
  const inventory = parse(await readFile(topology.inventoryPath, "utf8"));
  const timeouts = inventory.clusters["cache-test"].timeouts;
  delete timeouts.connectMs;
  delete timeouts.commandMs;
  await writeFile(topology.inventoryPath, stringify(inventory));
  return 3_000;
}
