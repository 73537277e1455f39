import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { processState } from "../harness/processes.js";
import { loadData, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { dbsize, info, planOrThrow, recordEvents, waitForLinkDown } from "./helpers.js";

let topology: TestTopology | undefined;
afterEach(async () => {
  await topology?.close();
  topology = undefined;
});

describe("promote over real SSH", () => {
  it("promotes the best replica, repoints the other, starts the spare as a new replica and tells clients", async () => {
    topology = await buildTopology([
      { name: "machine-a", role: "master" },
      { name: "machine-b", role: "replica", replicaPriority: 10 },
      { name: "machine-d", role: "replica", replicaPriority: 50 },
      { name: "machine-c", role: "spare" },
    ]);
    const m = topology.machines as Record<string, Machine>;
    const [a, b, c, d] = [
      m["machine-a"],
      m["machine-b"],
      m["machine-c"],
      m["machine-d"],
    ] as Machine[];
    const keys = await loadData(a!.server!, { keys: 10_000, valueBytes: 32 });
    await waitForReplicaSync(a!.server!, b!.server!);
    await waitForReplicaSync(a!.server!, d!.server!);
    await a!.server!.kill();
    await waitForLinkDown(b!);
    await waitForLinkDown(d!);

    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", spare: "machine-c" });
    expect(plan.mode).toBe("promote");
    expect(plan.newMaster.name).toBe("machine-b");
    expect(plan.candidates.map((candidate) => [candidate.name, candidate.priority])).toEqual([
      ["machine-b", 10],
      ["machine-d", 50],
    ]);
    const result = await engine.execute(plan);

    expect(result.failedStep).toBeUndefined();
    expect((await info(b!)).role).toBe("master");
    for (const replica of [d!, c!]) {
      const replicaInfo = await info(replica);
      expect([
        replica.name,
        replicaInfo.role,
        replicaInfo.master_host,
        replicaInfo.master_link_status,
      ]).toEqual([replica.name, "slave", b!.ip, "up"]);
      expect(await dbsize(replica)).toBe(keys);
    }
    expect(await topology.configRedis.client().get(topology.discoveryKey)).toBe(
      JSON.stringify({ host: b!.ip, port: b!.port }),
    );
    // Persisted: a restart keeps the new roles.
    expect(await readFile(b!.configFile, "utf8")).not.toMatch(/^replicaof /m);
    expect(await readFile(d!.configFile, "utf8")).toMatch(
      new RegExp(`^replicaof ${b!.ip.replaceAll(".", "\\.")} ${b!.port}$`, "m"),
    );
  });

  it("skips an unreachable (hung) replica without hanging, and says it was left alone", async () => {
    topology = await buildTopology([
      { name: "machine-a", role: "master" },
      { name: "machine-b", role: "replica" },
      { name: "machine-d", role: "replica", noSsh: true },
    ]);
    const m = topology.machines as Record<string, Machine>;
    const [a, b, d] = [m["machine-a"], m["machine-b"], m["machine-d"]] as Machine[];
    await loadData(a!.server!, { keys: 1_000, valueBytes: 16 });
    await waitForReplicaSync(a!.server!, d!.server!);
    await a!.server!.kill();
    await waitForLinkDown(b!);
    await d!.server!.pause();
    try {
      const engine = await topology.engine();
      const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "promote" });
      // The plan came back while machine-d was still frozen: it gave up on d, it did not wait.
      expect(processState(d!.server!.pid)).toBe("T");
      // The hung host was given the connect bound (1 s) once, not a command timeout on top.
      expect(plan.topology.nodes.find((node) => node.name === "machine-d")?.error).toMatch(
        /no answer within 1000 ms/,
      );
      expect(plan.risks.join("\n")).toMatch(
        /machine-d does not answer and is left alone; .* REPLICAOF/,
      );
      const { onEvent, output } = recordEvents();
      const result = await engine.execute(plan, { onEvent });
      expect(result.ok).toBe(true);
      // The re-check knew machine-d was silent: it waited only the short bound on it.
      expect(output(1)).toMatch(/machine-d .*no answer within 300 ms/);
      expect((await info(b!)).role).toBe("master");
      expect((await info(a!).catch(() => ({ role: "down" }))).role).toBe("down");
    } finally {
      await d!.server!.resume();
    }
  });
});
