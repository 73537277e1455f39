import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, expect } from "vitest";
import { parse, stringify } from "yaml";
import { allocateAddressBlock } from "../harness/addresses.js";
import { loadData, type RedisServer, waitForReplicaSync } from "../harness/redis-server.js";
import { type SentinelHandle, startSentinel } from "../harness/sentinel.js";
import {
  buildTopology,
  type Machine,
  type MachineSpec,
  type TestTopology,
} from "../harness/topology.js";
import { startWriter } from "./helpers.js";

/**
 * The servers' requirepass/masterauth and the Sentinels' own requirepass, both given to the bot
 * through the environment (REDIS_PASSWORD, SENTINEL_PASSWORD). Undefined: no passwords at all.
 */
export interface SentinelPasswords {
  server: string;
  sentinel: string;
}

export const server = (machine: Machine) => machine.server as RedisServer;

/**
 * Real redis-sentinel processes over a real cluster, for one test file: call at its top level;
 * what a test starts is stopped after it.
 */
export function sentinelCluster(passwords?: SentinelPasswords) {
  let topology: TestTopology | undefined;
  let sentinels: SentinelHandle[] = [];
  afterEach(async () => {
    await Promise.allSettled(sentinels.map((sentinel) => sentinel.stop()));
    sentinels = [];
    await topology?.close();
    topology = undefined;
  });

  function connect(host: string, port: number, password: string | undefined): Redis {
    const redis = new Redis({
      host,
      port,
      ...(password !== undefined ? { password } : {}),
      protocol: 2,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on("error", () => {});
    return redis;
  }

  async function onServer<T>(machine: Machine, fn: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = connect(machine.ip, machine.port, passwords?.server);
    try {
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  }

  async function onSentinel<T>(sentinel: SentinelHandle, fn: (redis: Redis) => Promise<T>) {
    const redis = connect(sentinel.host, sentinel.port, passwords?.sentinel);
    try {
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  }

  return {
    onServer,
    onSentinel,

    /**
     * Machines as given (with the servers' password, if any), data loaded, `count` real
     * redis-sentinels watching the master with `quorum`, each knowing the others, and the
     * inventory declaring them (sentinel:) as an operator would.
     */
    async start(
      specs: MachineSpec[],
      options: { count: number; quorum: number; keys: number; parallelSyncs?: number },
    ) {
      topology = await buildTopology(
        specs,
        passwords !== undefined ? { password: passwords.server } : {},
      );
      const m = topology.machines as Record<string, Machine>;
      const master = Object.values(m).find((machine) => machine.spec.role === "master") as Machine;
      const replicas = Object.values(m).filter((machine) => machine.spec.role === "replica");
      const keys = await loadData(server(master), { keys: options.keys, valueBytes: 16 });
      for (const replica of replicas) await waitForReplicaSync(server(master), server(replica));
      const block = allocateAddressBlock();
      const root = topology.root;
      sentinels = await Promise.all(
        Array.from({ length: options.count }, (_, i) =>
          startSentinel({
            dir: join(root, `sentinel-${i + 1}`),
            host: block.ip(i + 1),
            master,
            replicas: replicas.length,
            quorum: options.quorum,
            otherSentinels: options.count - 1,
            ...(options.parallelSyncs !== undefined
              ? { parallelSyncs: options.parallelSyncs }
              : {}),
            ...(passwords !== undefined
              ? { password: passwords.sentinel, masterPassword: passwords.server }
              : {}),
          }),
        ),
      );
      const inventory = parse(await readFile(topology.inventoryPath, "utf8"));
      if (passwords !== undefined)
        expect(inventory.clusters["cache-test"].redisPasswordEnv).toBe("REDIS_PASSWORD");
      inventory.clusters["cache-test"].sentinel = {
        hosts: sentinels.map((sentinel) => ({ host: sentinel.host, port: sentinel.port })),
        masterName: "mymaster",
        ...(passwords !== undefined ? { passwordEnv: "SENTINEL_PASSWORD" } : {}),
      };
      await writeFile(topology.inventoryPath, stringify(inventory));
      return { topology, m, keys, sentinels };
    },

    /** What every Sentinel gives clients as mymaster's address ("none" once it forgot it, "down" for a stopped one). */
    answers(): Promise<string[]> {
      return Promise.all(
        sentinels.map((sentinel) =>
          onSentinel(sentinel, async (redis) => {
            const reply = (await redis.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")) as
              | string[]
              | null;
            return reply ? `${reply[0]}:${reply[1]}` : "none";
          }).catch(() => "down"),
        ),
      );
    },

    /** SENTINEL MASTER mymaster, as fields. */
    async masterFields(sentinel: SentinelHandle): Promise<Map<string, string>> {
      const reply = (await onSentinel(sentinel, (redis) =>
        redis.call("SENTINEL", "MASTER", "mymaster"),
      )) as string[];
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < reply.length; i += 2)
        fields.set(String(reply[i]), String(reply[i + 1]));
      return fields;
    },

    /** `startWriter` with the servers' password. */
    startWriter: (machines: Machine[]) => startWriter(machines, passwords?.server),

    /** Which of `keys` the machine does not hold. */
    async missing(machine: Machine, keys: string[]): Promise<string[]> {
      const values = keys.length > 0 ? await onServer(machine, (redis) => redis.mget(...keys)) : [];
      return keys.filter((_, i) => values[i] === null);
    },
  };
}

/** Machines by name, in the order asked. */
export function machines<const N extends readonly string[]>(
  m: Record<string, Machine>,
  names: N,
): { [K in keyof N]: Machine } {
  return names.map((name) => m[name] as Machine) as { [K in keyof N]: Machine };
}
