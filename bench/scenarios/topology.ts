import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { waitFor } from "../../test/harness/redis-server.js";
import type { Machine } from "../../test/harness/topology.js";

export function client(machine: Pick<Machine, "ip" | "port">): Redis {
  const redis = new Redis({
    host: machine.ip,
    port: machine.port,
    protocol: 2,
    maxRetriesPerRequest: 1,
  });
  redis.on("error", () => {});
  return redis;
}

export async function infoField(
  machine: Machine,
  section: string,
  field: string,
): Promise<string | undefined> {
  const redis = client(machine);
  try {
    const text = await redis.info(section);
    return new RegExp(`^${field}:(.*)$`, "m").exec(text)?.[1]?.trim();
  } finally {
    redis.disconnect();
  }
}

export async function waitForLink(
  machine: Machine,
  status: "up" | "down",
  timeoutMs = 120_000,
): Promise<void> {
  await waitFor(
    async () =>
      (await infoField(machine, "replication", "master_link_status").catch(() => undefined)) ===
      status,
    {
      what: `${machine.name} link ${status}`,
      timeoutMs,
      intervalMs: 20,
    },
  );
}

/**
 * Puts a replace topology back to "A lost, B its replica, C a stopped spare": C shut down and
 * emptied, B pointed at the dead A again (it keeps its data until a sync would start).
 */
export async function resetReplace(a: Machine, b: Machine, c: Machine): Promise<void> {
  const redisC = client(c);
  await redisC.call("SHUTDOWN", "NOSAVE").catch(() => undefined);
  redisC.disconnect();
  await waitFor(
    async () =>
      (await infoField(c, "server", "redis_version").catch(() => undefined)) === undefined,
    {
      what: "C to stop",
      timeoutMs: 20_000,
    },
  );
  for (const file of await readdir(c.dir)) {
    if (file.startsWith("dump.rdb") || file.startsWith("appendonly"))
      await rm(join(c.dir, file), { recursive: true, force: true });
  }
  const redisB = client(b);
  await redisB.call("REPLICAOF", a.ip, a.port);
  redisB.disconnect();
  await waitForLink(b, "down");
}
