import { execFile } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweep } from "../global-setup.js";
import { allocateAddressBlock, freePort } from "./addresses.js";
import { commandLine, isRunning, readPidFile, reapAfterAll, reapAll } from "./processes.js";
import {
  infoField,
  keyCount,
  loadData,
  redisFiles,
  type StartRedisOptions,
  startRedis,
  stopRedisByPidfile,
  waitFor,
  waitForReplicaSync,
  withClient,
  writeRedisConfig,
} from "./redis-server.js";
import { makeTempRoot, type TempRoot } from "./temp.js";

const run = promisify(execFile);

reapAfterAll();

let root: TempRoot;
beforeAll(async () => {
  root = await makeTempRoot("redis-harness");
});
afterAll(async () => {
  await root.cleanup();
});

const block = allocateAddressBlock();
let hosts = 0;

/** Options for a server on its own loopback address, in its own dir. */
async function serverOptions(
  name: string,
  overrides: Partial<StartRedisOptions> = {},
): Promise<StartRedisOptions> {
  hosts += 1;
  const host = block.ip(hosts);
  return {
    name,
    host,
    port: await freePort(host),
    dir: join(root.path, `${hosts}-${name}`),
    ...overrides,
  };
}

/** Starts a server from a daemonize-yes config the way the product would: `redis-server <conf>`. */
async function startDaemonized(dir: string, name = "daemon") {
  const options = await serverOptions(name, { dir });
  const configFile = await writeRedisConfig({ ...options, daemonize: true });
  await run("redis-server", [configFile]); // returns once the daemon has forked off
  const pid = await waitFor(() => readPidFile(redisFiles(dir).pidFile), { what: "the pidfile" });
  await waitFor(() => withClient(options, (client) => client.ping()), { what: "PONG" });
  return { ...options, pid, pidFile: redisFiles(dir).pidFile };
}

describe("startRedis", () => {
  it("answers PING, and stop() leaves no process", async () => {
    const server = await startRedis(await serverOptions("plain"));
    expect(await server.client().ping()).toBe("PONG");
    // The process title names the config, which the global teardown relies on.
    expect(commandLine(server.pid)).toContain(server.configFile);

    await server.stop();
    expect(server.isRunning()).toBe(false);
    expect(isRunning(server.pid)).toBe(false);
    await expect(withClient(server, (client) => client.ping())).rejects.toThrow();
  });

  it("fails with redis-server's own complaint when the config is broken", async () => {
    const options = await serverOptions("broken", { extra: { "no-such-directive": "1" } });
    await expect(startRedis(options)).rejects.toThrow(/did not start[\s\S]*Bad directive/);
  });

  it("fails with the log tail when the port is taken", async () => {
    const first = await startRedis(await serverOptions("first"));
    const second = await serverOptions("second", { host: first.host, port: first.port });
    await expect(startRedis(second)).rejects.toThrow(/Address already in use/);
    await first.stop();
  });

  it("pause() makes PING time out, resume() makes it answer again", async () => {
    const server = await startRedis(await serverOptions("paused"));
    const client = server.client({ commandTimeout: 300, maxRetriesPerRequest: 0 });
    expect(await client.ping()).toBe("PONG");

    await server.pause();
    await expect(client.ping()).rejects.toThrow(/timed out/i);
    await server.resume();
    expect(await client.ping()).toBe("PONG");

    await server.pause();
    await server.stop(); // stopping a paused server works too
    expect(isRunning(server.pid)).toBe(false);
  });

  it("kill() with SIGKILL leaves the data dir as it was and the process gone", async () => {
    const server = await startRedis(await serverOptions("killed"));
    await server.kill();
    expect(isRunning(server.pid)).toBe(false);
    expect(existsSync(server.pidFile)).toBe(true); // no clean shutdown, so the pidfile stays
  });
});

describe("replication", () => {
  it("a replica syncs with its password-protected master", async () => {
    const password = 's3cret "pass" \\ end'; // quoted and escaped in redis.conf
    const master = await startRedis(await serverOptions("master", { password }));
    await loadData(master, { keys: 1_000, valueBytes: 100 }); // DEBUG POPULATE: no replica yet
    const replica = await startRedis(
      await serverOptions("replica", {
        password,
        replicaOf: { host: master.host, port: master.port },
      }),
    );
    await waitForReplicaSync(master, replica);
    expect(await keyCount(replica)).toBe(1_000);

    // With the replica attached, loadData writes through replication.
    await loadData(master, { keys: 500, valueBytes: 100, prefix: "more" });
    await master.client().set("marker", "42");
    await waitForReplicaSync(master, replica);
    expect(await replica.client().get("marker")).toBe("42");
    expect(await keyCount(replica)).toBe(1_501);
    // bind-source-addr: the replica connects from its own address.
    expect(await master.client().client("LIST", "TYPE", "REPLICA")).toContain(
      `addr=${replica.host}:`,
    );
    const replication = await master.client().info("replication");
    expect(infoField(replication, "slave0")).toContain(`ip=${replica.host},port=${replica.port}`);

    await Promise.all([replica.stop(), master.stop()]);
  });
});

describe("daemonized servers", () => {
  it("are found and stopped by their pidfile", async () => {
    const daemon = await startDaemonized(join(root.path, "daemon"));
    expect(daemon.pid).not.toBe(process.pid);
    expect(isRunning(daemon.pid)).toBe(true);

    expect(await stopRedisByPidfile(daemon.pidFile)).toBe(true);
    expect(isRunning(daemon.pid)).toBe(false);
    expect(await stopRedisByPidfile(daemon.pidFile)).toBe(false);
  });

  it("stopRedisByPidfile tolerates missing, stale and foreign pidfiles", async () => {
    const dir = join(root.path, "pidfiles");
    await mkdir(dir);
    expect(await stopRedisByPidfile(join(dir, "missing.pid"))).toBe(false);

    const exited = execFile("true");
    await once(exited, "exit");
    await writeFile(join(dir, "stale.pid"), `${exited.pid}\n`);
    expect(await stopRedisByPidfile(join(dir, "stale.pid"))).toBe(false);

    await writeFile(join(dir, "ours.pid"), `${process.pid}\n`);
    expect(await stopRedisByPidfile(join(dir, "ours.pid"))).toBe(false);
    expect(isRunning(process.pid)).toBe(true);
  });

  it("reapAll() kills children and daemons alike", async () => {
    const child = await startRedis(await serverOptions("reaped-child"));
    const daemon = await startDaemonized(join(root.path, "reaped-daemon"));

    const reaped = await reapAll();
    expect(reaped, reaped.join("\n")).toHaveLength(2);
    expect(isRunning(child.pid)).toBe(false);
    expect(isRunning(daemon.pid)).toBe(false);
  });

  it("the global sweep kills what names a leftover run's temp dir, and removes the dir", async () => {
    // Tagged with this worker's pid: concurrent test runs see that run alive and leave it be.
    const dir = await mkdtemp(join(tmpdir(), `rfb-test-${process.pid}-orphan-`));
    const daemon = await startDaemonized(dir, "orphan");

    const killed = await sweep((run) => run === process.pid);
    expect(killed).toEqual([
      expect.stringMatching(new RegExp(`^${daemon.pid} redis-server .*${dir}`)),
    ]);
    expect(isRunning(daemon.pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("temp dirs", () => {
  it("are named after the Vitest run, set by the global setup", () => {
    expect(process.env.RFB_TEST_RUN).toMatch(/^\d+$/);
    expect(root.path).toContain(`/rfb-test-${process.env.RFB_TEST_RUN}-redis_harness-`);
  });
});

describe("data helpers", () => {
  it("loadData fills 50 MB with one DEBUG POPULATE and keyCount matches", async () => {
    const server = await startRedis(await serverOptions("data"));
    expect(await loadData(server, { keys: 50_000, valueBytes: 1_000 })).toBe(50_000);
    expect(await server.client().info("commandstats")).toContain("cmdstat_debug:calls=1");
    const memory = await server.client().info("memory");
    expect(Number(infoField(memory, "used_memory"))).toBeGreaterThan(50_000_000);

    const loaded = await loadData(server.client(), {
      keys: 2_000,
      valueBytes: 10_000,
      db: 1,
      incompressible: true,
    });
    expect(loaded).toBe(2_000);
    expect(await keyCount(server)).toBe(52_000);
    // Random values do not compress: the RDB of db 1 alone is as large as its data.
    await server.client().flushdb(); // db 0
    await server.client().save();
    const rdb = await stat(join(server.dir, "dump.rdb"));
    expect(rdb.size).toBeGreaterThan(20_000_000);
    await server.stop();
  });

  it("waitFor names what it was waiting for", async () => {
    await expect(waitFor(() => false, { what: "godot", timeoutMs: 100 })).rejects.toThrow(
      /Timed out after 100 ms waiting for godot/,
    );
    await expect(
      waitFor(
        () => {
          throw new Error("not yet");
        },
        { what: "x", timeoutMs: 50 },
      ),
    ).rejects.toThrow(/last error: not yet/);
  });
});
