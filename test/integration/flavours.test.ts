import { readdir } from "node:fs/promises";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { flavourVersion, REDIS, type ServerFlavour, valkey } from "../harness/flavours.js";
import { loadData, waitForReplicaSync } from "../harness/redis-server.js";
import {
  buildTopology,
  type Machine,
  type MachineSpec,
  type TestTopology,
} from "../harness/topology.js";
import { client, dbsize, info, runCliCaptured, waitForLinkDown } from "./helpers.js";

/**
 * One happy path of each mode, through the CLI, on each server flavour: Debian's Redis and
 * Valkey (Debian's packages, fetched by scripts/ensure-valkey.sh). A Valkey host has only
 * valkey-* programs, as its packages install them; status and plans name the flavour.
 */

const valkeyFlavour = valkey();
const flavours: Array<ServerFlavour | { name: string; unavailable: string }> = [
  REDIS,
  "unavailable" in valkeyFlavour ? { name: "Valkey", ...valkeyFlavour } : valkeyFlavour,
];
for (const flavour of flavours) {
  if ("unavailable" in flavour)
    console.warn(`[rfb-test] SKIPPING the Valkey tests: ${flavour.unavailable}`);
}

function cli(topology: TestTopology, args: string[]) {
  return runCliCaptured([...args, "--inventory", topology.inventoryPath], {
    env: { STATE_DIR: `${topology.root}/cli-state` },
  });
}

const machinesOf = (topology: TestTopology) => topology.machines as Record<string, Machine>;
const server = (machine: Machine) => machine.server as NonNullable<Machine["server"]>;

/** Every server's role, master and link, as the servers themselves report them. */
async function roles(machines: Machine[]): Promise<string[]> {
  return Promise.all(
    machines.map(async (machine) => {
      const replication = await info(machine);
      return replication.role === "master"
        ? `${machine.name} master`
        : `${machine.name} replica of ${replication.master_host}:${replication.master_port} link ${replication.master_link_status}`;
    }),
  );
}

const replicaOf = (replica: Machine, master: Machine) =>
  `${replica.name} replica of ${master.ip}:${master.port} link up`;

/** The spec of a machine that has no SSH: promote and switchover run no host commands. */
const noSsh = (name: string, role: MachineSpec["role"], extra: Partial<MachineSpec> = {}) => ({
  name,
  role,
  noSsh: true,
  ...extra,
});

describe.each(flavours)("$name", (flavour) => {
  if ("unavailable" in flavour) {
    it.skip(`skipped: ${flavour.unavailable}`, () => {});
    return;
  }
  let version: string;
  let replace: TestTopology;
  let promote: TestTopology;
  let switchover: TestTopology;
  const built: TestTopology[] = [];
  const build = async (specs: MachineSpec[]) => {
    const topology = await buildTopology(specs, { flavour });
    built.push(topology);
    return topology;
  };

  beforeAll(async () => {
    // The three topologies are independent: start them all at once.
    [version, replace, promote, switchover] = await Promise.all([
      flavourVersion(flavour),
      build([
        { name: "machine-a", role: "master" },
        { name: "machine-b", role: "replica" },
        { name: "machine-c", role: "spare" },
      ]),
      build([
        noSsh("machine-a", "master"),
        noSsh("machine-b", "replica", { replicaPriority: 10 }),
        noSsh("machine-d", "replica", { replicaPriority: 50 }),
      ]),
      build([noSsh("machine-a", "master"), noSsh("machine-b", "replica")]),
    ]);
  });
  afterAll(async () => {
    await Promise.all(built.map((topology) => topology.close()));
  });

  it("replace: rebuilds the master on the spare, its snapshot checked by the flavour's own checker", async () => {
    const m = machinesOf(replace);
    const [a, b, c] = [m["machine-a"], m["machine-b"], m["machine-c"]] as Machine[];
    const keys = await loadData(server(a!), { keys: 2_000, valueBytes: 16 });
    await waitForReplicaSync(server(a!), server(b!));
    await server(a!).kill();
    await waitForLinkDown(b!);

    const run = await cli(replace, ["failover", "cache-test", "--mode", "replace", "--yes"]);

    expect(run.code).toBe(0);
    // The plan names the flavour of every server that answers.
    expect(run.stdout).toMatch(
      new RegExp(`machine-b \\(.*\\): replica of machine-a, .*, ${version},`),
    );
    const checker = flavour === REDIS ? "redis-check-rdb" : "valkey-check-rdb";
    expect(run.stdout).toContain(`{ ${checker} /dev/stdin >&2;`);
    expect(run.stdout).toMatch(/^ +check 0$/m);
    expect(run.stdout).toContain(`sizes match; ${checker} accepted it`);
    expect(run.stdout).toMatch(/^SUCCESS: cache-test failed over \(replace\)/m);
    // The dead master could not be fenced: the commands handed out name the flavour's own CLI.
    const cliName = flavour === REDIS ? "redis-cli" : "valkey-cli";
    expect(run.stdout).toContain(
      `${cliName} -h ${a!.ip} -p ${a!.port} REPLICAOF ${c!.ip} ${c!.port}`,
    );
    if (flavour !== REDIS) expect(run.stdout).not.toContain("redis-cli");
    // The spare was started by its inventory start: command, the flavour's server program.
    expect((await info(c!, "server")).executable).toMatch(new RegExp(`/${flavour.server}$`));
    expect(server(a!).isRunning()).toBe(false);
    expect(await roles([b!, c!])).toEqual([replicaOf(b!, c!), "machine-c master"]);
    // The snapshot is installed under its own name; no partial copy is left behind.
    expect((await readdir(c!.dir)).filter((file) => /^dump\.rdb/.test(file))).toEqual(["dump.rdb"]);
    expect(await dbsize(c!)).toBe(keys);
    expect(await dbsize(b!)).toBe(keys);
    expect(await replace.configRedis.client().get(replace.discoveryKey)).toBe(
      JSON.stringify({ host: c!.ip, port: c!.port }),
    );
  });

  it("promote: makes the preferred replica master and repoints the other", async () => {
    const m = machinesOf(promote);
    const [a, b, d] = [m["machine-a"], m["machine-b"], m["machine-d"]] as Machine[];
    const keys = await loadData(server(a!), { keys: 2_000, valueBytes: 16 });
    await waitForReplicaSync(server(a!), server(b!));
    await waitForReplicaSync(server(a!), server(d!));
    await server(a!).kill();
    await waitForLinkDown(b!);
    await waitForLinkDown(d!);

    const run = await cli(promote, ["failover", "cache-test", "--mode", "promote", "--yes"]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`machine-d \\(.*\\): replica of machine-a, .*, ${version},`),
    );
    expect(run.stdout).toMatch(
      /^SUCCESS: cache-test failed over \(promote\) .*new master machine-b/m,
    );
    expect(server(a!).isRunning()).toBe(false);
    expect(await roles([b!, d!])).toEqual(["machine-b master", replicaOf(d!, b!)]);
    await waitForReplicaSync(server(b!), server(d!));
    expect(await dbsize(b!)).toBe(keys);
    expect(await dbsize(d!)).toBe(keys);
    expect(await promote.configRedis.client().get(promote.discoveryKey)).toBe(
      JSON.stringify({ host: b!.ip, port: b!.port }),
    );
  });

  it("switchover: status names the server; the hand-over loses no acknowledged write", async () => {
    const m = machinesOf(switchover);
    const [a, b] = [m["machine-a"], m["machine-b"]] as Machine[];
    await waitForReplicaSync(server(a!), server(b!));

    const status = await cli(switchover, ["status", "cache-test"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`machine-a .*│ master .*│ ${version} +│`));
    expect(status.stdout).toMatch(new RegExp(`machine-b .*│ replica .*│ ${version} +│`));

    const writer = startWriter(client(a!));
    try {
      await vi.waitFor(() => expect(writer.acknowledged.length).toBeGreaterThan(100), {
        timeout: 30_000,
      });
      const run = await cli(switchover, [
        "failover",
        "cache-test",
        "--mode",
        "switchover",
        "--yes",
      ]);

      expect(run.code).toBe(0);
      // FAILOVER is chosen by the Redis-compatible version both flavours report (>= 6.2).
      expect(run.stdout).toContain(`FAILOVER (${version})`);
      expect(run.stdout).toMatch(
        /^SUCCESS: cache-test failed over \(switchover\) .*new master machine-b/m,
      );
    } finally {
      await writer.stop();
    }
    expect(await roles([a!, b!])).toEqual([replicaOf(a!, b!), "machine-b master"]);
    // The old master refused writes once it handed over; every write it acknowledged is on B.
    expect(writer.refused).toMatch(/READONLY/);
    const values = await server(b!)
      .client()
      .mget(...writer.acknowledged);
    expect(writer.acknowledged.filter((_, i) => values[i] === null)).toEqual([]);
    expect(await switchover.configRedis.client().get(switchover.discoveryKey)).toBe(
      JSON.stringify({ host: b!.ip, port: b!.port }),
    );
  });
});

/** Writes numbered keys to `redis` one after another until the server refuses one, or stop(). */
function startWriter(redis: Redis) {
  const acknowledged: string[] = [];
  const state = { stopped: false, refused: "" };
  const done = (async () => {
    for (let i = 0; !state.stopped && !state.refused; i++) {
      try {
        await redis.set(`seq:${i}`, String(i));
        acknowledged.push(`seq:${i}`);
      } catch (error) {
        state.refused = String(error);
      }
    }
  })();
  return {
    acknowledged,
    get refused() {
      return state.refused;
    },
    async stop() {
      state.stopped = true;
      await done;
      redis.disconnect();
    },
  };
}
