import type { Redis } from "ioredis";
import { waitForReplicaSync } from "../../test/harness/redis-server.js";
import { buildTopology, type Machine } from "../../test/harness/topology.js";
import { log, type Measurement, measurement } from "../lib.js";
import { client, waitForLink } from "./topology.js";

interface WriterReport {
  acknowledged: string[];
  /** Longest time one write waited, from its first attempt to its acknowledgement. */
  maxStallMs: number;
}

/**
 * A client writes without pause, recording every acknowledged write, while the master role
 * moves from A to B: our `switchover` (FAILOVER) against the naive manual way (REPLICAOF NO ONE
 * on B, then REPLICAOF B on A). Counts acknowledged writes missing from the new master and the
 * longest time a write waited.
 */
export async function switchoverWrites(options: { runs: number }): Promise<Measurement[]> {
  const oursLost: number[] = [];
  const oursStall: number[] = [];
  const naiveLost: number[] = [];
  const naiveStall: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const ours = await withWriter(async (topology) => {
      const engine = await topology.engine();
      const outcome = await engine.plan({
        cluster: "cache-test",
        mode: "switchover",
        replica: "machine-b",
      });
      if (!outcome.ok) throw new Error(outcome.refusal.reason);
      const result = await engine.execute(outcome.plan);
      if (!result.ok) throw new Error(`switchover failed: ${result.failedStep?.error}`);
    });
    oursLost.push(ours.lost);
    oursStall.push(ours.maxStallMs);
    const naive = await withWriter(async (_topology, a, b) => {
      const [ra, rb] = [client(a), client(b)];
      await rb.call("REPLICAOF", "NO", "ONE");
      await ra.call("REPLICAOF", b.ip, b.port);
      ra.disconnect();
      rb.disconnect();
      await waitForLink(a, "up");
    });
    naiveLost.push(naive.lost);
    naiveStall.push(naive.maxStallMs);
    log(
      `switchover run ${i + 1}: ours lost ${ours.lost} (max stall ${ours.maxStallMs.toFixed(0)} ms), naive lost ${naive.lost} (max stall ${naive.maxStallMs.toFixed(0)} ms)`,
    );
  }
  return [
    measurement("switchover_lost_writes", oursLost, naiveLost, "writes", {
      baselineIs: "REPLICAOF NO ONE on B, then REPLICAOF B on A",
      goal: "0",
      met: (ours) => ours === 0,
    }),
    measurement("switchover_max_stall_ms", oursStall, naiveStall, "ms", {
      baselineIs: "the same naive switchover",
      goal: "< 1,000 ms",
      met: (ours) => ours < 1000,
    }),
  ];
}

async function withWriter(
  switchRoles: (
    topology: Awaited<ReturnType<typeof buildTopology>>,
    a: Machine,
    b: Machine,
  ) => Promise<void>,
): Promise<{ lost: number; maxStallMs: number }> {
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
    for (const replica of [b, d])
      await waitForReplicaSync(
        a.server as NonNullable<Machine["server"]>,
        replica.server as NonNullable<Machine["server"]>,
      );
    const writer = startWriter([a, b, d]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await switchRoles(topology, a, b);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const report = await writer.stop();
    const newMaster = client(b);
    try {
      let lost = 0;
      for (let i = 0; i < report.acknowledged.length; i += 1000) {
        const keys = report.acknowledged.slice(i, i + 1000);
        const values = await newMaster.mget(...keys);
        lost += values.filter((value) => value === null).length;
      }
      return { lost, maxStallMs: report.maxStallMs };
    } finally {
      newMaster.disconnect();
    }
  } finally {
    await topology.close();
  }
}

function startWriter(machines: Machine[]): { stop(): Promise<WriterReport> } {
  const clients = machines.map((machine) => client(machine));
  const acknowledged: string[] = [];
  let maxStallMs = 0;
  let stopping = false;
  let target: Redis = clients[0] as Redis;
  const done = (async () => {
    for (let i = 0; !stopping; i++) {
      const key = `seq:${i}`;
      const firstAttempt = performance.now();
      for (;;) {
        try {
          await target.set(key, String(i));
          acknowledged.push(key);
          maxStallMs = Math.max(maxStallMs, performance.now() - firstAttempt);
          break;
        } catch {
          // READONLY or a dropped connection: find the master as a client library would.
          for (const candidate of clients) {
            const role = await candidate.call("ROLE").catch(() => undefined);
            if (Array.isArray(role) && role[0] === "master") target = candidate;
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      await done;
      for (const redis of clients) redis.disconnect();
      return { acknowledged, maxStallMs };
    },
  };
}
