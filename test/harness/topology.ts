import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { stringify } from "yaml";
import { bootstrap } from "../../src/app/bootstrap.js";
import type { FailoverEngine } from "../../src/engine/engine.js";
import { allocateAddressBlock, freePort } from "./addresses.js";
import { REDIS, type ServerFlavour, sessionPath } from "./flavours.js";
import {
  type RedisServer,
  redisFiles,
  startRedis,
  stopRedisByPidfile,
  writeRedisConfig,
} from "./redis-server.js";
import { generateUserKey, type SshdHandle, startSshd, type UserKey } from "./sshd.js";
import { makeTempRoot, type TempRoot } from "./temp.js";

export type MachineRole = "master" | "replica" | "spare";

export interface MachineSpec {
  name: string;
  role: MachineRole;
  /** `appendonly` in this machine's redis.conf. */
  appendonly?: boolean;
  /** Extra environment for SSH sessions on this machine (a PATH with a broken tool first). */
  sshEnv?: Record<string, string>;
  /** No SSH server and no ssh: settings in the inventory. */
  noSsh?: boolean;
  /** Leave `config:` out of the inventory (the bot cannot read redis.conf). */
  hideConfig?: boolean;
  /** Inventory `start:` override (default: the flavour's server program <its redis.conf>). */
  start?: string;
  replicaPriority?: number;
}

export interface Machine {
  spec: MachineSpec;
  name: string;
  ip: string;
  port: number;
  dir: string;
  configFile: string;
  pidFile: string;
  sshd?: SshdHandle;
  /** The Redis process the harness started (master and replicas); the spare's is started by the bot. */
  server?: RedisServer;
}

export interface TestTopology {
  root: string;
  /** What the machines run (the config Redis holding the discovery key is always Redis). */
  flavour: ServerFlavour;
  inventoryPath: string;
  knownHostsPath: string;
  machines: Record<string, Machine>;
  configRedis: RedisServer;
  discoveryKey: string;
  /** Starts (or restarts) a machine's Redis from its own config, as the harness's child. */
  startRedisOn(name: string): Promise<RedisServer>;
  /** The engine as a front end would build it, logging into `logLines`. */
  engine(env?: NodeJS.ProcessEnv): Promise<FailoverEngine>;
  logLines: string[];
  close(): Promise<void>;
}

/**
 * Real machines on loopback: each has its own 127.A.B.x address, its own redis-server and its
 * own OpenSSH sshd (one shared bot key, host keys in a known_hosts file), plus a config Redis
 * holding the discovery key. The inventory is written exactly as an operator would. With a
 * `flavour` (Valkey), the machines run its server and their SSH sessions find its programs
 * (valkey-server, valkey-check-rdb) first on PATH, as on a host with its packages installed.
 */
export async function buildTopology(
  specs: MachineSpec[],
  options: {
    cluster?: string;
    flavour?: ServerFlavour;
    /**
     * requirepass and masterauth on every machine's Redis; the inventory names
     * `redisPasswordEnv: REDIS_PASSWORD`, so engine() needs that variable set to it.
     */
    password?: string;
  } = {},
): Promise<TestTopology> {
  const cluster = options.cluster ?? "cache-test";
  const flavour = options.flavour ?? REDIS;
  const path = sessionPath(flavour);
  const temp: TempRoot = await makeTempRoot(`topology-${cluster}`);
  const block = allocateAddressBlock();
  const machines: Record<string, Machine> = {};
  const started: Array<{ stop(): Promise<void> }> = [];
  const logLines: string[] = [];
  const engines: FailoverEngine[] = [];
  let userKey: UserKey | undefined;
  /** Runs the starts at once; every one that succeeded is stopped later, even if another failed. */
  const startAll = async <T extends { stop(): Promise<void> }>(starts: Array<Promise<T>>) => {
    const outcomes = await Promise.allSettled(starts);
    for (const outcome of outcomes) if (outcome.status === "fulfilled") started.push(outcome.value);
    const failed = outcomes.find((outcome) => outcome.status === "rejected");
    if (failed) throw failed.reason;
    return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
  };
  try {
    const configIp = block.ip(1);
    for (const [i, spec] of specs.entries()) {
      const ip = block.ip(i + 11);
      const dir = join(temp.path, spec.name);
      machines[spec.name] = {
        spec,
        name: spec.name,
        ip,
        port: await freePort(ip),
        dir,
        ...redisFiles(dir),
      };
    }
    const withSsh = specs.filter((spec) => !spec.noSsh);
    if (withSsh.length > 0) {
      // One bot key for every machine, made where the first machine's sshd keeps its files.
      const keyDir = join(temp.path, `${withSsh[0]?.name}-sshd`);
      await mkdir(keyDir, { recursive: true });
      userKey = await generateUserKey(keyDir);
    }

    // Every machine is independent until replication starts: start them all at once.
    const master = specs.find((spec) => spec.role === "master");
    const masterMachine = master ? machines[master.name] : undefined;
    const startServer = async (spec: MachineSpec) => {
      const machine = machines[spec.name] as Machine;
      const serverOptions = redisOptions(
        machine,
        spec.role === "replica" ? masterMachine : undefined,
        options.password,
      );
      machine.server = await startRedis({ ...serverOptions, serverBinary: flavour.serverPath });
      return machine.server;
    };
    const configStart = startRedis({
      name: "config",
      host: configIp,
      port: await freePort(configIp),
      dir: join(temp.path, "config-redis"),
    });
    await startAll<{ stop(): Promise<void> }>([
      configStart,
      ...withSsh.map(async (spec) => {
        const machine = machines[spec.name] as Machine;
        machine.sshd = await startSshd({
          host: machine.ip,
          dir: join(temp.path, `${spec.name}-sshd`),
          ...(userKey ? { userKey } : {}),
          ...(path || spec.sshEnv
            ? { env: { ...(path ? { PATH: path } : {}), ...spec.sshEnv } }
            : {}),
        });
        return machine.sshd;
      }),
      ...specs.filter((spec) => spec.role === "master").map(startServer),
      ...specs
        .filter((spec) => spec.role === "spare")
        .map(async (spec) => {
          const machine = machines[spec.name] as Machine;
          await writeRedisConfig({
            ...redisOptions(machine, undefined, options.password),
            daemonize: true,
            serverBinary: flavour.serverPath,
          });
          return { stop: async () => {} };
        }),
    ]);
    await startAll(specs.filter((spec) => spec.role === "replica").map(startServer));
    const configRedis = await configStart;

    const knownHostsPath = join(temp.path, "known_hosts");
    await writeFile(
      knownHostsPath,
      Object.values(machines)
        .flatMap((machine) => (machine.sshd ? [machine.sshd.knownHostsLine] : []))
        .join("\n")
        .concat("\n"),
    );
    const discoveryKey = `config:redis:${cluster}`;
    const inventoryPath = join(temp.path, "inventory.yml");
    await writeFile(
      inventoryPath,
      stringify({
        ssh: {
          user: "root",
          ...(userKey ? { privateKeyFile: userKey.privateKeyFile } : {}),
          knownHostsFile: knownHostsPath,
        },
        clusters: {
          [cluster]: {
            approvers: ["U0APPROVER", "S0ONCALL"],
            channels: ["C0INCIDENT"],
            discovery: { url: `redis://${configIp}:${configRedis.port}/0`, key: discoveryKey },
            ...(options.password !== undefined ? { redisPasswordEnv: "REDIS_PASSWORD" } : {}),
            timeouts: {
              connectMs: 1000,
              commandMs: 2000,
              startMs: 30_000,
              syncMs: 60_000,
              failoverMs: 5_000,
            },
            hosts: Object.fromEntries(
              Object.values(machines).map((machine) => [
                machine.name,
                inventoryHost(machine, flavour),
              ]),
            ),
          },
        },
      }),
    );

    const startRedisOn = async (name: string) => {
      const machine = machines[name] as Machine;
      machine.server = await startRedis({
        ...redisOptions(machine, undefined, options.password),
        serverBinary: flavour.serverPath,
      });
      started.push(machine.server);
      return machine.server;
    };

    return {
      root: temp.path,
      flavour,
      inventoryPath,
      knownHostsPath,
      machines,
      configRedis,
      discoveryKey,
      logLines,
      startRedisOn,
      async engine(env = {}) {
        const destination = new Writable({
          write(chunk, _encoding, callback) {
            logLines.push(...String(chunk).split("\n").filter(Boolean));
            callback();
          },
        });
        const { engine } = await bootstrap({
          env: { ...env },
          inventoryPath,
          logLevel: "debug",
          logDestination: destination,
        });
        engines.push(engine);
        return engine;
      },
      async close() {
        await Promise.all(engines.map((engine) => engine.close()));
        await stopAll(started, machines);
        await temp.cleanup();
      },
    };
  } catch (error) {
    await stopAll(started, machines);
    await temp.cleanup();
    throw error;
  }
}

function redisOptions(machine: Machine, master: Machine | undefined, password?: string) {
  return {
    ...(password !== undefined ? { password } : {}),
    name: machine.name,
    host: machine.ip,
    port: machine.port,
    dir: machine.dir,
    appendonly: machine.spec.appendonly ?? false,
    ...(master ? { replicaOf: { host: master.ip, port: master.port } } : {}),
    ...(machine.spec.replicaPriority !== undefined
      ? { extra: { "replica-priority": String(machine.spec.replicaPriority) } }
      : {}),
  };
}

function inventoryHost(machine: Machine, flavour: ServerFlavour) {
  return {
    redis: { host: machine.ip, port: machine.port },
    ...(machine.sshd ? { ssh: { host: machine.ip, port: machine.sshd.port } } : {}),
    dir: machine.dir,
    dbfilename: "dump.rdb",
    // "{config}" in a custom start command stands for this machine's redis.conf.
    start: (machine.spec.start ?? `${flavour.server} {config}`).replaceAll(
      "{config}",
      machine.configFile,
    ),
    ...(machine.spec.hideConfig ? {} : { config: machine.configFile }),
  };
}

async function stopAll(
  started: Array<{ stop(): Promise<void> }>,
  machines: Record<string, Machine>,
): Promise<void> {
  // Servers the bot started through SSH live in their sshd's process namespace and end with it;
  // one started by a LocalHost (or left over) is found through its pidfile.
  await Promise.allSettled([...started].reverse().map((entry) => entry.stop()));
  await Promise.allSettled(
    Object.values(machines).map((machine) => stopRedisByPidfile(machine.pidFile)),
  );
}
