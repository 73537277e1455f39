import { join } from "node:path";
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
async function firstWrite(candidates: Machine[], started: number): Promise<number> {
  const clients = candidates.map((machine) => client(machine));
  try {
    for (;;) {
      for (const redis of clients) {
        if ((await redis.set("bench:write", "1").catch(() => null)) === "OK")
          return performance.now() - started;
      }
      if (performance.now() - started > 60_000)
        throw new Error("no new master accepted a write within 60 s");
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    for (const redis of clients) redis.disconnect();
  }
}
