import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { renderTopologyTable } from "../../src/cli/render/topology-table.js";
import { waitForReplicaSync } from "../harness/redis-server.js";
import type { SentinelHandle } from "../harness/sentinel.js";
import type { Machine, MachineSpec, TestTopology } from "../harness/topology.js";
import { planOrThrow, recordEvents } from "./helpers.js";
import { machines, sentinelCluster, server } from "./sentinel-setup.js";

const execFileAsync = promisify(execFile);

/** Waits on a condition; generous so a busy machine only makes it slower, never fails it. */
const WAIT = { timeout: 120_000, interval: 100 };

/** The servers' requirepass/masterauth, and the Sentinels' own requirepass: never to be shown. */
const SERVER_PASSWORD = "srv-Pw-4b1e9c7a";
const SENTINEL_PASSWORD = "snt-Pw-d83f02e5";
const SECRETS = { REDIS_PASSWORD: SERVER_PASSWORD, SENTINEL_PASSWORD };

/**
 * A password-protected cluster (requirepass and masterauth everywhere) watched by real
 * redis-sentinels that have a password of their own and know the servers' (auth-pass), declared
 * in the inventory with both passwords taken from the environment, as an operator would.
 */
const cluster = sentinelCluster({ server: SERVER_PASSWORD, sentinel: SENTINEL_PASSWORD });
const { onServer, onSentinel, answers: sentinelAnswers, startWriter, missing } = cluster;
const protectedTopology = (specs: MachineSpec[], options: { count: number; quorum: number }) =>
  cluster.start(specs, { ...options, keys: 300 });

async function replication(machine: Machine): Promise<Record<string, string>> {
  const text = await onServer(machine, (redis) => redis.info("replication"));
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(":"))
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
  );
}

/**
 * The CLI as its own process, as an operator runs it with both passwords in the environment and
 * debug logging to stderr: returns everything it printed, and the journal it wrote.
 */
async function failoverCli(topology: TestTopology, mode: "switchover" | "replace") {
  const stateDir = join(topology.root, "cli-state");
  const { stdout, stderr } = await execFileAsync(
    join(process.cwd(), "node_modules/.bin/tsx"),
    [
      "--eval",
      'import("./src/cli/main.ts").then(async ({ main }) => { await main(); process.exit(process.exitCode ?? 0); });',
      "redis-failover",
      "failover",
      "cache-test",
      "--mode",
      mode,
      "--yes",
      "--json",
      "--inventory",
      topology.inventoryPath,
    ],
    {
      env: { PATH: process.env.PATH, STATE_DIR: stateDir, LOG_LEVEL: "debug", ...SECRETS },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const lines = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const journal: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else journal.push(await readFile(path, "latin1"));
    }
  };
  await walk(stateDir);
  return { lines, stdout, stderr, journal: journal.join("\n") };
}

/** Neither password, in any text the bot produced. */
function expectNoSecret(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(SERVER_PASSWORD);
    expect(text).not.toContain(SENTINEL_PASSWORD);
  }
}

const threeServers: MachineSpec[] = [
  { name: "machine-a", role: "master" },
  { name: "machine-b", role: "replica" },
  { name: "machine-d", role: "replica", replicaPriority: 200 },
];

describe("Sentinel and servers with passwords", () => {
  it("status reads every Sentinel's view, and a switchover through SENTINEL FAILOVER shows no password anywhere", async () => {
    const { topology, m, keys, sentinels } = await protectedTopology(threeServers, {
      count: 3,
      quorum: 2,
    });
    const [a, b, d] = machines(m, ["machine-a", "machine-b", "machine-d"]);
    // The status view, through the Sentinels' password.
    const engine = await topology.engine(SECRETS);
    const { topology: seen, assessment } = await engine.status("cache-test");
    const view = seen.sentinel;
    expect(view?.agreed?.hostName).toBe("machine-a");
    expect(view?.disagreements).toEqual([]);
    expect(view?.sentinels).toHaveLength(3);
    for (const state of view?.sentinels ?? []) {
      expect(state.reachable).toBe(true);
      expect(state.master?.hostName).toBe("machine-a");
      expect(state.ckquorum).toBe("ok");
      expect(state.replicas?.map((replica) => replica.hostName).sort()).toEqual([
        "machine-b",
        "machine-d",
      ]);
    }
    const table = renderTopologyTable(seen, assessment);
    expect(table).toMatch(/they name machine-a/);

    // The switchover, from the CLI process.
    const writer = startWriter([a, b, d]);
    await expect.poll(() => writer.acknowledged.length, WAIT).toBeGreaterThan(50);
    const run = await failoverCli(topology, "switchover");
    const plan = run.lines[0];
    expect(plan.type).toBe("plan");
    const failoverStep = plan.steps.find((step: { title: string }) => /Sentinel/i.test(step.title));
    expect(JSON.stringify(failoverStep)).toMatch(/SENTINEL FAILOVER mymaster/);
    const result = run.lines.at(-1);
    expect(result).toMatchObject({
      type: "result",
      ok: true,
      newMaster: { host: b.ip, port: b.port },
    });
    const stepOutput = run.lines
      .filter((line) => line.type === "step")
      .map((line) => String(line.output ?? ""))
      .join("\n");
    expect(stepOutput).toMatch(/Agreed: [23] of 3 Sentinels name machine-b/);
    const before = writer.acknowledged.length;
    await expect.poll(() => writer.acknowledged.length, WAIT).toBeGreaterThan(before + 20);
    await writer.stop();

    // The log really was written, the journal holds the run; neither holds a password.
    expect(run.stderr).toMatch(/"msg":"run finished"/);
    expect(run.journal).toMatch(/machine-b/);
    expectNoSecret(table, run.stdout, run.stderr, run.journal, topology.logLines.join("\n"));

    // Roles: B master, A and D its replicas; every acknowledged write, and the loaded keys, on all three.
    expect((await replication(b)).role).toBe("master");
    for (const replica of [a, d]) {
      await waitForReplicaSync(server(b), server(replica));
      expect((await replication(replica)).master_host).toBe(b.ip);
    }
    // (A write whose reply was lost may exist too: at least, never fewer, and the same on all.)
    const sizes = new Set<number>();
    for (const machine of [a, b, d]) {
      expect(await missing(machine, writer.acknowledged)).toEqual([]);
      const size = await onServer(machine, (redis) => redis.dbsize());
      expect(size).toBeGreaterThanOrEqual(keys + writer.acknowledged.length);
      sizes.add(size);
    }
    expect(sizes.size).toBe(1);
    await expect
      .poll(() => sentinelAnswers(), WAIT)
      .toEqual(sentinels.map(() => `${b.ip}:${b.port}`));
  });

  it("promote through SENTINEL FAILOVER when the protected master is lost", async () => {
    const { topology, m, keys, sentinels } = await protectedTopology(threeServers, {
      count: 2,
      quorum: 1,
    });
    const [a, b, d] = machines(m, ["machine-a", "machine-b", "machine-d"]);
    await server(a).stop();
    await expect.poll(async () => (await replication(b)).master_link_status, WAIT).toBe("down");
    await expect.poll(async () => (await replication(d)).master_link_status, WAIT).toBe("down");
    const engine = await topology.engine(SECRETS);
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "promote" });
    expect(plan.newMaster.name).toBe("machine-b");
    expect(plan.steps.map((step) => step.spec.kind)).toContain("sentinel-failover");
    const events = recordEvents();
    const result = await engine.execute(plan, { onEvent: events.onEvent });
    expect(result.failedStep).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(topology.logLines.join("\n")).toMatch(/run finished/);
    expectNoSecret(
      JSON.stringify(plan.steps),
      JSON.stringify(events.events),
      JSON.stringify(result),
      topology.logLines.join("\n"),
    );

    // Roles: B master with every key A acknowledged before it died, D its replica, A down.
    expect((await replication(b)).role).toBe("master");
    await waitForReplicaSync(server(b), { host: d.ip, port: d.port, password: SERVER_PASSWORD });
    expect((await replication(d)).master_host).toBe(b.ip);
    for (const machine of [b, d])
      expect(await onServer(machine, (redis) => redis.dbsize())).toBe(keys);
    expect(server(a).isRunning()).toBe(false);
    await expect
      .poll(() => sentinelAnswers(), WAIT)
      .toEqual(sentinels.map(() => `${b.ip}:${b.port}`));
  });

  it("replace gives the new master back to the Sentinels with auth-pass: they reach it and can fail it over later", async () => {
    const { topology, m, keys, sentinels } = await protectedTopology(
      [
        { name: "machine-a", role: "master" },
        { name: "machine-b", role: "replica" },
        { name: "machine-c", role: "spare" },
      ],
      { count: 2, quorum: 2 },
    );
    const [a, b, c] = machines(m, ["machine-a", "machine-b", "machine-c"]);
    await server(a).stop();
    await expect.poll(async () => (await replication(b)).master_link_status, WAIT).toBe("down");

    const run = await failoverCli(topology, "replace");
    const kinds = run.lines[0].steps.map((step: { title: string }) => step.title).join("\n");
    expect(kinds).toMatch(/Sentinel/);
    const monitor = JSON.stringify(run.lines[0]);
    expect(monitor).toMatch(
      new RegExp(`SENTINEL MONITOR mymaster ${c.ip.replaceAll(".", "\\.")} ${c.port} 2`),
    );
    // The plan names the variable, never its value.
    expect(monitor).toMatch(/auth-pass.*REDIS_PASSWORD/);
    expect(run.lines.at(-1)).toMatchObject({
      type: "result",
      ok: true,
      newMaster: { host: c.ip, port: c.port },
    });
    // The step ended only once every Sentinel read C's INFO, i.e. logged in with auth-pass.
    expect(
      run.lines
        .filter((line) => line.type === "step")
        .map((line) => String(line.output ?? ""))
        .join("\n"),
    ).toMatch(/Every Sentinel reads machine-c's INFO/);
    expectNoSecret(run.stdout, run.stderr, run.journal);

    // Each Sentinel watches C with the servers' password: it reaches it (no s_down, no
    // disconnected), found B through C's INFO, and found the other Sentinel again through
    // C's hello channel (both need the password), so they have their quorum.
    expect(await sentinelAnswers()).toEqual(sentinels.map(() => `${c.ip}:${c.port}`));
    for (const sentinel of sentinels) {
      await expect
        .poll(async () => {
          const fields = await cluster.masterFields(sentinel);
          return { flags: fields.get("flags"), replicas: fields.get("num-slaves") };
        }, WAIT)
        .toEqual({ flags: "master", replicas: "1" });
      await expect
        .poll(
          () =>
            onSentinel(sentinel, (redis) => redis.call("SENTINEL", "CKQUORUM", "mymaster")).catch(
              (error: Error) => error.message,
            ),
          WAIT,
        )
        .toMatch(/^OK 2 usable Sentinels/);
    }

    // A later failover by Sentinel alone works: it must authenticate to promote B and repoint C.
    await expect
      .poll(
        () =>
          onSentinel(sentinels[0] as SentinelHandle, (redis) =>
            redis.call("SENTINEL", "FAILOVER", "mymaster"),
          ).catch((error: Error) => error.message),
        WAIT,
      )
      .toBe("OK");
    await expect
      .poll(() => sentinelAnswers(), WAIT)
      .toEqual(sentinels.map(() => `${b.ip}:${b.port}`));
    await expect.poll(async () => (await replication(b)).role, WAIT).toBe("master");
    await expect.poll(async () => (await replication(c)).master_host, WAIT).toBe(b.ip);
    await waitForReplicaSync(server(b), { host: c.ip, port: c.port, password: SERVER_PASSWORD });

    // Roles: B master, C its replica, A down; every key A acknowledged before it died on both.
    expect(server(a).isRunning()).toBe(false);
    for (const machine of [b, c])
      expect(await onServer(machine, (redis) => redis.dbsize())).toBe(keys);
  });
});
