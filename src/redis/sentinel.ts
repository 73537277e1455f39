import { FailoverError } from "../errors.js";
import type { RedisNode } from "./node.js";

/** SENTINEL MASTER / REPLICAS reply a flat [field, value, field, value...] list per instance. */
export function fieldsOf(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  return fields;
}

/** The settings `SENTINEL MONITOR` + `SENTINEL SET` need to watch a master as before. */
export interface SentinelSettings {
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  parallelSyncs: number;
}

export interface SentinelMaster {
  ip: string;
  port: number;
  flags: string[];
  settings: SentinelSettings;
  otherSentinels: number;
  replicas: number;
  /** Milliseconds since its last INFO reply from the master; 0 while it has had none. */
  infoRefreshMs: number;
}

export interface SentinelReplica {
  ip: string;
  port: number;
  flags: string[];
  priority: number;
  offset: number;
  runId: string;
  /** master-link-down-time, ms. */
  linkDownMs: number;
}

/** `SENTINEL MASTER name`; undefined when this Sentinel does not monitor that name. */
export async function sentinelMaster(
  node: RedisNode,
  masterName: string,
): Promise<SentinelMaster | undefined> {
  let reply: unknown;
  try {
    reply = await node.call("SENTINEL", "MASTER", masterName);
  } catch (error) {
    if (error instanceof FailoverError && /No such master/i.test(error.message)) return undefined;
    throw error;
  }
  const fields = fieldsOf(reply);
  const number = (name: string) => Number(fields.get(name) ?? Number.NaN);
  return {
    ip: fields.get("ip") ?? "",
    port: number("port"),
    flags: (fields.get("flags") ?? "").split(",").filter(Boolean),
    settings: {
      quorum: number("quorum"),
      downAfterMs: number("down-after-milliseconds"),
      failoverTimeoutMs: number("failover-timeout"),
      parallelSyncs: number("parallel-syncs"),
    },
    otherSentinels: number("num-other-sentinels"),
    replicas: number("num-slaves"),
    infoRefreshMs: number("info-refresh"),
  };
}

export async function sentinelReplicas(
  node: RedisNode,
  masterName: string,
): Promise<SentinelReplica[]> {
  const reply = await node.call("SENTINEL", "REPLICAS", masterName);
  if (!Array.isArray(reply)) return [];
  return reply.map((entry) => {
    const fields = fieldsOf(entry);
    return {
      ip: fields.get("ip") ?? "",
      port: Number(fields.get("port")),
      flags: (fields.get("flags") ?? "").split(",").filter(Boolean),
      priority: Number(fields.get("slave-priority") ?? 100),
      offset: Number(fields.get("slave-repl-offset") ?? 0),
      runId: fields.get("run-id") ?? "",
      linkDownMs: Number(fields.get("master-link-down-time") ?? 0),
    };
  });
}

/** `SENTINEL GET-MASTER-ADDR-BY-NAME`: the address this Sentinel gives clients now. */
export async function sentinelMasterAddress(
  node: RedisNode,
  masterName: string,
): Promise<{ host: string; port: number } | undefined> {
  const reply = await node.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName);
  if (!Array.isArray(reply) || reply.length < 2) return undefined;
  return { host: String(reply[0]), port: Number(reply[1]) };
}

/**
 * The replica Sentinel's own selection would promote (sentinelSelectSlave): it skips replicas
 * that are down or disconnected or have priority 0, then prefers the lowest priority, then the
 * largest offset, then the smallest run id.
 */
export function sentinelPick(replicas: readonly SentinelReplica[]): SentinelReplica | undefined {
  return replicas
    .filter(
      (replica) =>
        replica.priority > 0 &&
        !replica.flags.some((flag) => ["s_down", "o_down", "disconnected"].includes(flag)),
    )
    .sort(
      (a, b) =>
        a.priority - b.priority ||
        b.offset - a.offset ||
        (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0),
    )[0];
}
