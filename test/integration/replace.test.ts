import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadData, waitFor, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { client, dbsize, info, planOrThrow, recordEvents, waitForLinkDown } from "./helpers.js";

let topology: TestTopology | undefined;
afterEach(async () => {
  await topology?.close();
  topology = undefined;
});

async function lostMasterTopology(
  spare: Partial<Parameters<typeof buildTopology>[0][number]> = {},
) {
  topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare", ...spare },
  ]);
  const { machines } = topology;
  const a = machines["machine-a"] as Machine;
  const b = machines["machine-b"] as Machine;
  const keys = await loadData(a.server!, { keys: 20_000, valueBytes: 64 });
  await a.server!.client().set("ttl:key", "v", "EX", 3600);
  await waitForReplicaSync(a.server!, b.server!);
  await a.server!.kill();
  await waitForLinkDown(b);
  return { topology, a, b, c: machines["machine-c"] as Machine, keys: keys + 1 };
}

describe("replace over real SSH", () => {
  it("rebuilds the master on the spare from the replica's snapshot, then makes the replica follow it", async () => {
    const { topology, b, c, keys } = await lostMasterTopology();
    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
    const recorded = recordEvents();
    const result = await engine.execute(plan, { onEvent: recorded.onEvent });

    expect(result.failedStep).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.newMaster).toMatchObject({ name: "machine-c", host: c.ip, port: c.port });
    const cInfo = await info(c);
    expect(cInfo.role).toBe("master");
    expect(await dbsize(c)).toBe(keys);
    const bInfo = await info(b);
    expect([bInfo.role, bInfo.master_host, bInfo.master_port, bInfo.master_link_status]).toEqual([
      "slave",
      c.ip,
      String(c.port),
      "up",
    ]);
    expect(await dbsize(b)).toBe(keys);
    expect(await topology.configRedis.client().get(topology.discoveryKey)).toBe(
      JSON.stringify({ host: c.ip, port: c.port }),
    );
    expect(result.facts.copy?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await readdir(c.dir)).filter((file) => file.includes(".partial"))).toEqual([]);
    // A was unreachable: loudly reported with the exact commands for when it returns.
    expect(result.warnings.join("\n")).toMatch(/machine-a is unreachable and NOT fenced/);
    expect(result.nextActions.join("\n")).toContain(`REPLICAOF ${c.ip} ${c.port}`);
    const copyIndex = plan.steps.findIndex((step) => step.spec.kind === "copy-rdb") + 1;
    const copyOutput = recorded.output(copyIndex);
    expect(copyOutput).toMatch(/SHA-256 matches on machine-b, in flight and on machine-c/);
    // Each side's command, then its own output under it: never interleaved.
    const sourceAt = copyOutput.indexOf("[machine-b] $ size=");
    const targetAt = copyOutput.indexOf("[machine-c] $ IFS= read -r size");
    expect(sourceAt).toBeGreaterThan(-1);
    expect(targetAt).toBeGreaterThan(sourceAt);
    expect(copyOutput.slice(sourceAt, targetAt)).toMatch(/^ {2}size \d+\n {2}[0-9a-f]{64} {2}-$/m);
    expect(copyOutput.slice(sourceAt, targetAt)).not.toMatch(/installed|tee 0/);
    expect(copyOutput.slice(targetAt)).toMatch(/^ {2}tee 0$/m);
    expect(copyOutput.slice(targetAt)).toMatch(/^ {2}check 0$/m);
    expect(copyOutput.slice(targetAt)).toMatch(/^ {2}installed$/m);
    expect(
      recorded.events
        .map((event) => event.type)
        .filter((type) => type !== "step-output")
        .slice(0, 3),
    ).toEqual(["run-started", "step-started", "step-finished"]);
  });
});

describe("replace: the spare's own state", () => {
  it("starts the spare with AOF off when its redis.conf says appendonly yes, then turns AOF back on persistently", async () => {
    const { topology, b, c, keys } = await lostMasterTopology({ appendonly: true });
    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
    expect(plan.steps.map((step) => step.spec.kind)).toContain("enable-aof");
    const result = await engine.execute(plan);

    expect(result.failedStep).toBeUndefined();
    expect(await dbsize(c)).toBe(keys);
    expect((await info(c, "persistence")).aof_enabled).toBe("1");
    expect(await readFile(c.configFile, "utf8")).toMatch(/^appendonly yes$/m);
    expect((await info(b)).master_host).toBe(c.ip);
  });

  it("stops before touching the replica when the spare comes up empty (AOF on, config unknown to the bot)", async () => {
    const { topology, b, keys } = await lostMasterTopology({ appendonly: true, hideConfig: true });
    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
    expect(plan.risks.join("\n")).toMatch(/redis.conf is not in the inventory/);
    const result = await engine.execute(plan);

    expect(result.ok).toBe(false);
    expect(result.failedStep?.title).toBe("Start Redis on machine-c");
    expect(result.failedStep?.error).toMatch(
      /holds 0 keys but the snapshot on machine-b had \d+\. AOF is enabled there/,
    );
    const bInfo = await info(b);
    expect([bInfo.role, bInfo.master_host]).toEqual(["slave", topology.machines["machine-a"]?.ip]);
    expect(await dbsize(b)).toBe(keys);
    expect(
      result.steps.filter((step) => step.status === "skipped").map((step) => step.title),
    ).toContain("Make machine-b a replica of machine-c");
    expect(result.topologyAfter?.nodes.find((node) => node.name === "machine-c")?.keys).toBe(0);
    expect(result.nextActions.join("\n")).toMatch(/SHUTDOWN NOSAVE/);
  });

  it("detects a copy corrupted on its way to the spare before anything is started or touched", async () => {
    const brokenBin = await mkdtemp(join(tmpdir(), "rfb-test-broken-bin-"));
    // On C, `head` (which takes the copy's bytes off the wire) mangles every zero byte.
    await writeFile(
      join(brokenBin, "head"),
      '#!/bin/sh\n/usr/bin/head "$@" | tr "\\000" "\\001"\n',
      { mode: 0o755 },
    );
    try {
      const { topology, b, c, keys } = await lostMasterTopology({
        sshEnv: { PATH: `${brokenBin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` },
      });
      const engine = await topology.engine();
      const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
      const result = await engine.execute(plan);

      expect(result.failedStep?.title).toBe("Copy the snapshot from machine-b to machine-c");
      expect(result.failedStep?.error).toMatch(
        /the copy is corrupt: SHA-256 on machine-b ([0-9a-f]{64}), in flight \1, on machine-c (?!\1)[0-9a-f]{64}/,
      );
      expect(await readdir(c.dir)).not.toContain("dump.rdb");
      expect((await readdir(c.dir)).filter((file) => file.includes(".partial"))).toEqual([]);
      expect((await info(b)).master_host).toBe(topology.machines["machine-a"]?.ip);
      expect(await dbsize(b)).toBe(keys);
      expect(result.topologyAfter?.nodes.find((node) => node.name === "machine-c")?.reachable).toBe(
        false,
      );
    } finally {
      await rm(brokenBin, { recursive: true, force: true });
    }
  });

  it("reports a failing start command with its output and leaves the replica as it was", async () => {
    const { topology, b, keys } = await lostMasterTopology({
      start: "echo 'redis-server: permission denied' >&2; exit 3",
    });
    const engine = await topology.engine();
    const result = await engine.execute(
      await planOrThrow(engine, { cluster: "cache-test", mode: "replace" }),
    );

    expect(result.failedStep?.title).toBe("Start Redis on machine-c");
    expect(result.failedStep?.error).toMatch(/exited with 3: redis-server: permission denied/);
    expect((await info(b)).role).toBe("slave");
    expect(await dbsize(b)).toBe(keys);
    expect(result.nextActions.join("\n")).toMatch(/source replica is untouched/);
  });

  it("keeps an existing dump.rdb on the spare under a new name instead of overwriting it", async () => {
    const { topology, c } = await lostMasterTopology();
    await writeFile(join(c.dir, "dump.rdb"), "an old snapshot someone may want back");
    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
    expect(plan.risks.join("\n")).toMatch(/already has .*dump\.rdb \(37 bytes\): it is kept/);
    const result = await engine.execute(plan);

    expect(result.ok).toBe(true);
    const kept = (await readdir(c.dir)).find((file) =>
      file.startsWith(`dump.rdb.before-${plan.runId}`),
    );
    expect(kept).toBeDefined();
    expect(await readFile(join(c.dir, kept as string), "utf8")).toBe(
      "an old snapshot someone may want back",
    );
  });
});

describe("replace: fencing", () => {
  it("an old master that comes back with stale data is found and fenced: it becomes a replica of the new master", async () => {
    topology = await buildTopology([
      { name: "machine-a", role: "master" },
      { name: "machine-b", role: "replica" },
      { name: "machine-c", role: "spare" },
    ]);
    const { machines } = topology;
    const [a, b, c] = [
      machines["machine-a"],
      machines["machine-b"],
      machines["machine-c"],
    ] as Machine[];
    const keys = await loadData(a!.server!, { keys: 5_000, valueBytes: 32 });
    await waitForReplicaSync(a!.server!, b!.server!);
    // A comes back from its last snapshot, which holds one write B never saw: B is frozen and
    // its connection cut first, so the write cannot sit in its socket buffer either.
    await b!.server!.pause();
    await a!.server!.client().call("CLIENT", "KILL", "TYPE", "replica");
    await a!.server!.client().set("written:after:the:split", "stale");
    await a!.server!.client().call("SAVE");
    await a!.server!.kill();
    await b!.server!.resume();
    await waitForLinkDown(b!);

    const engine = await topology.engine();
    const result = await engine.execute(
      await planOrThrow(engine, { cluster: "cache-test", mode: "replace" }),
    );
    expect(result.ok).toBe(true);
    expect(result.facts.unfenced?.name).toBe("machine-a");
    // Clients now write to C, moving its replication offset past the one A comes back with.
    const cClient = client(c!);
    for (let i = 0; i < 20; i++) await cClient.set(`written:on:c:${i}`, "x".repeat(100));

    await topology.startRedisOn("machine-a");
    expect((await info(a!)).role).toBe("master");
    const status = await engine.status("cache-test");
    expect(status.assessment.master?.name).toBe("machine-c");
    expect(status.assessment.problems.join("\n")).toMatch(
      /machine-a also answers as a master \(5001 keys/,
    );

    const fence = await engine.planFence("cache-test");
    if (!fence.ok) throw new Error(fence.refusal.reason);
    expect(fence.plan.steps.map((step) => step.spec.kind)).toEqual(["fence", "announce"]);
    const fenced = await engine.execute(fence.plan);

    expect(fenced.ok).toBe(true);
    const aInfo = await info(a!);
    expect([aInfo.role, aInfo.master_host, aInfo.master_port]).toEqual([
      "slave",
      c!.ip,
      String(c!.port),
    ]);
    cClient.disconnect();
    expect(await readFile(a!.configFile, "utf8")).toMatch(
      new RegExp(`^replicaof ${c!.ip.replaceAll(".", "\\.")} ${c!.port}$`, "m"),
    );
    await waitFor(async () => (await info(a!)).master_link_status === "up", {
      what: "machine-a to resync",
      timeoutMs: 20_000,
    });
    // A holds exactly C's data, including what clients wrote to C, and not its own stale write.
    expect(await dbsize(a!)).toBe(keys + 20);
    expect(await a!.server!.client().exists("written:after:the:split")).toBe(0);
    expect((await engine.status("cache-test")).assessment.problems).toEqual([]);
  });
});
