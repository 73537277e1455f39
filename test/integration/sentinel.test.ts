import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { renderTopologyTable } from "../../src/cli/render/topology-table.js";
import { resumeProblems } from "../../src/engine/resume-premises.js";
import { waitForReplicaSync } from "../harness/redis-server.js";
import type { SentinelHandle } from "../harness/sentinel.js";
import type { Machine, MachineSpec } from "../harness/topology.js";
import { client, dbsize, info, planOrThrow, recordEvents, runCliCaptured } from "./helpers.js";
import { machines, sentinelCluster, server } from "./sentinel-setup.js";

const execFileAsync = promisify(execFile);

/** Waits on a condition; generous so a busy machine only makes it slower, never fails it. */
const WAIT = { timeout: 120_000, interval: 100 };

const cluster = sentinelCluster();
const {
  answers: sentinelAnswers,
  masterFields: sentinelMasterFields,
  startWriter,
  missing,
} = cluster;

/** Machines as given, data loaded, and Sentinels watching them, with parallel-syncs 2. */
const sentinelTopology = (
  specs: MachineSpec[],
  options: { count: number; quorum: number; keys?: number },
) => cluster.start(specs, { ...options, keys: options.keys ?? 500, parallelSyncs: 2 });

/** The settings a Sentinel keeps for mymaster that a replace must carry over to the new master. */
const SETTINGS = ["quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs"];
function sentinelSettings(sentinels: SentinelHandle[]) {
  return Promise.all(
    sentinels.map(async (sentinel) => {
      const fields = await sentinelMasterFields(sentinel);
      return Object.fromEntries(SETTINGS.map((field) => [field, fields.get(field)]));
    }),
  );
}

/**
 * A (master), B (its replica) and spare C watched by two Sentinels (quorum 2); their settings
 * for mymaster read, then A stopped and B has noticed; a replace planned.
 */
async function replacePlanned(spare: Partial<MachineSpec> = {}) {
  const { topology, m, keys, sentinels } = await sentinelTopology(
    [
      { name: "machine-a", role: "master" },
      { name: "machine-b", role: "replica" },
      { name: "machine-c", role: "spare", ...spare },
    ],
    { count: 2, quorum: 2 },
  );
  const [a, b, c] = machines(m, ["machine-a", "machine-b", "machine-c"]);
  const settingsBefore = await sentinelSettings(sentinels);
  await server(a).stop();
  await expect.poll(async () => (await info(b)).master_link_status, WAIT).toBe("down");
  const engine = await topology.engine();
  const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
  return { a, b, c, keys, sentinels, settingsBefore, engine, plan };
}

const threeServers: MachineSpec[] = [
  { name: "machine-a", role: "master" },
  { name: "machine-b", role: "replica" },
  // A higher replica-priority: Sentinel prefers machine-b, whatever the offsets.
  { name: "machine-d", role: "replica", replicaPriority: 200 },
];

describe("failing over through Sentinel", () => {
  it("status shows each Sentinel's view beside the servers', and says when they disagree", async () => {
    const { topology, m, keys, sentinels } = await sentinelTopology(threeServers, {
      count: 3,
      quorum: 2,
    });
    const engine = await topology.engine();
    const { topology: seen, assessment } = await engine.status("cache-test");
    const view = seen.sentinel;
    expect(view?.agreed?.hostName).toBe("machine-a");
    expect(view?.quorum).toBe(2);
    expect(view?.disagreements).toEqual([]);
    for (const state of view?.sentinels ?? []) {
      expect(state.reachable).toBe(true);
      expect(state.master?.hostName).toBe("machine-a");
      expect(state.quorum).toBe(2);
      expect(state.ckquorum).toBe("ok");
      expect(state.replicas?.map((replica) => replica.hostName).sort()).toEqual([
        "machine-b",
        "machine-d",
      ]);
    }
    const text = renderTopologyTable(seen, assessment);
    expect(text).toMatch(/Sentinel [\d.]+:\d+: master machine-a .*quorum 2 \(ok\)/);
    expect(text).toMatch(/they name machine-a/);

    // The CLI, as an operator runs it: `status --json` carries the same view under "sentinel".
    const { code, stdout: out } = await runCliCaptured(
      ["status", "cache-test", "--json", "--inventory", topology.inventoryPath],
      { env: { STATE_DIR: join(topology.root, "cli-state") } },
    );
    expect(code).toBe(0);
    const json = JSON.parse(out.trim().split("\n").at(-1) as string);
    expect(json.type).toBe("status");
    expect(json.sentinel.agreed.hostName).toBe("machine-a");
    expect(json.sentinel.sentinels).toHaveLength(3);

    // One Sentinel down: still a quorum, but status says which one is missing.
    await sentinels[0]?.stop();
    // A status reading is shared for a moment: wait for one taken after the stop.
    await expect
      .poll(
        async () => (await engine.status("cache-test")).topology.sentinel?.sentinels[0]?.reachable,
        WAIT,
      )
      .toBe(false);
    const after = (await engine.status("cache-test")).topology.sentinel as NonNullable<typeof view>;
    expect(after.agreed?.hostName).toBe("machine-a");
    expect(after.disagreements.join("\n")).toMatch(/Sentinel [\d.]+:\d+ does not answer/);

    // Roles are untouched; Sentinel still names machine-a.
    expect((await info(m["machine-a"] as Machine)).role).toBe("master");
    expect((await info(m["machine-b"] as Machine)).master_host).toBe(m["machine-a"]?.ip);
    expect((await info(m["machine-d"] as Machine)).master_host).toBe(m["machine-a"]?.ip);
    for (const name of ["machine-a", "machine-b", "machine-d"])
      expect(await dbsize(m[name] as Machine)).toBe(keys);
    const aAddress = `${m["machine-a"]?.ip}:${m["machine-a"]?.port}`;
    expect(await sentinelAnswers()).toEqual(["down", aAddress, aAddress]);
  });

  it("switchover goes through SENTINEL FAILOVER and loses no acknowledged write", async () => {
    const { topology, m, sentinels } = await sentinelTopology(threeServers, {
      count: 3,
      quorum: 2,
    });
    const [a, b, d] = machines(m, ["machine-a", "machine-b", "machine-d"]);
    const engine = await topology.engine();
    const writer = startWriter([a, b, d]);
    await expect.poll(() => writer.acknowledged.length, WAIT).toBeGreaterThan(50);
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "switchover" });
    expect(plan.newMaster.name).toBe("machine-b");
    const step = plan.steps.find((candidate) => candidate.spec.kind === "sentinel-failover");
    expect(step?.commands.join("\n")).toMatch(/SENTINEL FAILOVER mymaster/);
    expect(step?.commands.join("\n")).toMatch(/CLIENT PAUSE \d+ WRITE/);
    expect(plan.steps.some((candidate) => candidate.spec.kind === "switchover")).toBe(false);
    const events = recordEvents();
    const result = await engine.execute(plan, { onEvent: events.onEvent });
    expect(result.failedStep).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(events.output(step?.index ?? 0)).toMatch(/Agreed: [23] of 3 Sentinels name machine-b/);
    // Writes continue on the new master, then stop.
    const before = writer.acknowledged.length;
    await expect.poll(() => writer.acknowledged.length, WAIT).toBeGreaterThan(before + 20);
    await writer.stop();

    // Roles: B master, A and D its replicas; every acknowledged write is on all three.
    expect((await info(b)).role).toBe("master");
    for (const replica of [a, d]) {
      await waitForReplicaSync(server(b), server(replica));
      expect((await info(replica)).master_host).toBe(b.ip);
    }
    for (const machine of [a, b, d])
      expect(await missing(machine, writer.acknowledged)).toEqual([]);
    // Sentinel names the new master: all three, once the others have heard.
    await expect
      .poll(() => sentinelAnswers(), WAIT)
      .toEqual(sentinels.map(() => `${b.ip}:${b.port}`));
  });

  it("promote goes through SENTINEL FAILOVER when the master is lost", async () => {
    const { topology, m, keys, sentinels } = await sentinelTopology(threeServers, {
      count: 2,
      quorum: 1,
    });
    const [a, b, d] = machines(m, ["machine-a", "machine-b", "machine-d"]);
    await server(a).stop();
    await expect.poll(async () => (await info(b)).master_link_status, WAIT).toBe("down");
    await expect.poll(async () => (await info(d)).master_link_status, WAIT).toBe("down");
    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "promote" });
    expect(plan.newMaster.name).toBe("machine-b");
    expect(plan.steps.map((step) => step.spec.kind)).toContain("sentinel-failover");
    expect(plan.steps.map((step) => step.spec.kind)).not.toContain("promote");
    const result = await engine.execute(plan);
    expect(result.failedStep).toBeUndefined();
    expect(result.ok).toBe(true);

    // Roles: B master with every key A acknowledged before it died; D its replica; A down.
    expect((await info(b)).role).toBe("master");
    expect(await dbsize(b)).toBe(keys);
    await waitForReplicaSync(server(b), server(d));
    expect((await info(d)).master_host).toBe(b.ip);
    expect(await dbsize(d)).toBe(keys);
    expect(server(a).isRunning()).toBe(false);
    await expect
      .poll(() => sentinelAnswers(), WAIT)
      .toEqual(sentinels.map(() => `${b.ip}:${b.port}`));

    // Resumed from the Sentinel step (as after a crash mid-step): its outcome holds, so it is
    // skipped, not asked again, and the resume premises accept what the run left.
    const failoverIndex = plan.steps.find((step) => step.spec.kind === "sentinel-failover")
      ?.index as number;
    const { topology: now } = await engine.status("cache-test");
    expect(resumeProblems(plan, now, failoverIndex, true)).toEqual([]);
    const resumed = await engine.execute(plan, { fromStep: failoverIndex });
    expect(resumed.ok).toBe(true);
    expect(resumed.steps[failoverIndex - 1]?.status).toBe("skipped");
    expect(resumed.steps[failoverIndex - 1]?.reason).toMatch(
      /Sentinels name machine-b, which answers as master/,
    );
    expect((await info(b)).role).toBe("master");
    expect((await info(d)).master_host).toBe(b.ip);
  });

  it("replace takes the master out of Sentinel's hands and gives the new one back with the same settings", async () => {
    const { a, b, c, keys, sentinels, settingsBefore, engine, plan } = await replacePlanned();
    const kinds = plan.steps.map((step) => step.spec.kind);
    expect(kinds[1]).toBe("sentinel-remove");
    expect(kinds.at(-2)).toBe("sentinel-monitor");
    const monitor = plan.steps.at(-2);
    expect(monitor?.commands.join("\n")).toMatch(
      new RegExp(`SENTINEL MONITOR mymaster ${c.ip.replaceAll(".", "\\.")} ${c.port} 2`),
    );
    expect(monitor?.commands.join("\n")).toMatch(/parallel-syncs 2/);
    const result = await engine.execute(plan);
    expect(result.failedStep).toBeUndefined();
    expect(result.ok).toBe(true);

    // Roles: C master with the snapshot's keys, B its replica, A down.
    expect((await info(c)).role).toBe("master");
    expect(await dbsize(c)).toBe(keys);
    expect((await info(b)).master_host).toBe(c.ip);
    expect(await dbsize(b)).toBe(keys);
    expect(server(a).isRunning()).toBe(false);
    // Sentinel names C, with the settings it had for A.
    expect(await sentinelAnswers()).toEqual(sentinels.map(() => `${c.ip}:${c.port}`));
    expect(await sentinelSettings(sentinels)).toEqual(settingsBefore);
  });

  it("a replace that fails midway reports the exact commands that put the Sentinels back, and they work", async () => {
    // Redis cannot start on the spare: the run stops after the Sentinels let go of the master.
    const { a, b, c, keys, sentinels, settingsBefore, engine, plan } = await replacePlanned({
      start: "false",
    });
    const result = await engine.execute(plan);
    expect(result.ok).toBe(false);
    expect(result.failedStep?.title).toMatch(/Start Redis on machine-c/);
    expect(await sentinelAnswers()).toEqual(["none", "none"]);

    const putBack = result.nextActions.find((line) =>
      /put the Sentinels back as they were/.test(line),
    );
    expect(putBack).toBeDefined();
    expect(result.nextActions.join("\n")).toMatch(
      new RegExp(`SENTINEL MONITOR mymaster ${c.ip.replaceAll(".", "\\.")} ${c.port} 2`),
    );
    // Run exactly what the report says, as an operator would paste it.
    const commands = (putBack as string).slice((putBack as string).indexOf(": ") + 2);
    await execFileAsync("sh", ["-c", commands.replaceAll(" ; ", " && ")]);

    // Sentinel watches machine-a again, with its settings; B still holds every key.
    expect(await sentinelAnswers()).toEqual(sentinels.map(() => `${a.ip}:${a.port}`));
    expect(await sentinelSettings(sentinels)).toEqual(settingsBefore);
    expect(server(a).isRunning()).toBe(false);
    expect((await info(b)).role).toBe("slave");
    expect((await info(b)).master_host).toBe(a.ip);
    expect(await dbsize(b)).toBe(keys);
    await expect(info(c)).rejects.toThrow();
  });

  it("refuses clearly when the Sentinels cannot agree, or would promote another replica", async () => {
    const { topology, m, keys, sentinels } = await sentinelTopology(threeServers, {
      count: 3,
      quorum: 2,
    });
    const [a, b, d] = machines(m, ["machine-a", "machine-b", "machine-d"]);
    const engine = await topology.engine();
    // Sentinel would pick machine-b (priority 100 < 200): naming machine-d is refused, with advice.
    const other = await engine.plan({
      cluster: "cache-test",
      mode: "switchover",
      replica: "machine-d",
    });
    if (other.ok) throw new Error("a switchover to a replica Sentinel would not pick was planned");
    expect(other.refusal.reason).toMatch(/would promote machine-b .*not machine-d/);
    expect(other.refusal.advice).toMatch(/replica-priority/);

    // Planned for machine-b; then machine-d becomes Sentinel's pick before the run: the step
    // checks the pick before asking for anything and stops, changing nothing.
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "switchover" });
    expect(plan.newMaster.name).toBe("machine-b");
    await server(d).client().config("SET", "replica-priority", "10");
    // Sentinel reads INFO from replicas every 10 s.
    await expect
      .poll(async () => {
        const replicas = (await cluster.onSentinel(sentinels[0] as SentinelHandle, (redis) =>
          redis.call("SENTINEL", "REPLICAS", "mymaster"),
        )) as string[][];
        return replicas.map((fields) => fields[fields.indexOf("slave-priority") + 1]).sort();
      }, WAIT)
      .toEqual(["10", "100"]);
    const failed = await engine.execute(plan);
    expect(failed.ok).toBe(false);
    expect(failed.failedStep?.error).toMatch(
      /Sentinel would promote .*priority 10.*not machine-b; nothing was changed/,
    );
    expect((await info(a)).role).toBe("master");
    const writer = client(a);
    expect(await writer.set("after-failed-run", "1")).toBe("OK");
    writer.disconnect();

    // Two of three Sentinels gone: no quorum can agree on anything.
    await sentinels[0]?.stop();
    await sentinels[1]?.stop();
    await expect
      .poll(async () => {
        const outcome = await engine.plan({ cluster: "cache-test", mode: "switchover" });
        return outcome.ok ? "planned" : outcome.refusal.reason;
      }, WAIT)
      .toMatch(
        /the Sentinels do not agree that machine-a is mymaster's master: .*no 2 of the 3 declared Sentinels agree/,
      );

    // Nothing was touched; the remaining Sentinel still names machine-a.
    expect((await info(a)).role).toBe("master");
    expect((await info(b)).master_host).toBe(a.ip);
    expect((await info(d)).master_host).toBe(a.ip);
    // Every acknowledged write (the loaded keys and the one taken after the failed run) is on both replicas.
    for (const replica of [b, d]) {
      await waitForReplicaSync(server(a), server(replica));
      expect(await dbsize(replica)).toBe(keys + 1);
    }
    expect(await sentinelAnswers()).toEqual(["down", "down", `${a.ip}:${a.port}`]);
  });
});
