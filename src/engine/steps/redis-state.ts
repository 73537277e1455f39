import { isFailoverError } from "../../errors.js";
import type { HostRef } from "../../plan/types.js";
import { type InfoFields, intField, parseKeyValueList } from "../../redis/info.js";
import type { RedisNode } from "../../redis/node.js";

export interface Keyspace {
  keys: number;
  /** Keys with a TTL. */
  expires: number;
}

export function keyspace(info: InfoFields): Keyspace {
  let keys = 0;
  let expires = 0;
  for (const [name, value] of info) {
    if (!/^db\d+$/.test(name)) continue;
    const fields = parseKeyValueList(value);
    keys += Number(fields.get("keys") ?? 0);
    expires += Number(fields.get("expires") ?? 0);
  }
  return { keys, expires };
}

/** True when `node` answers as a replica of `master` (compared by address as configured). */
export function followsMaster(info: InfoFields, master: HostRef): boolean {
  return (
    info.get("role") === "slave" &&
    info.get("master_host") === master.host &&
    intField(info, "master_port") === master.port
  );
}

export async function masterOffset(node: RedisNode): Promise<number> {
  const info = await node.info("replication");
  return intField(info, "master_repl_offset") ?? 0;
}

export function replicaOffset(info: InfoFields): number {
  return intField(info, "slave_repl_offset") ?? intField(info, "master_repl_offset") ?? 0;
}

/** Whether a Redis server answers at all; an error reply such as LOADING still means it runs. */
export async function answers(node: RedisNode): Promise<boolean> {
  try {
    await node.call("PING");
    return true;
  } catch (error) {
    return isFailoverError(error, "REDIS_COMMAND_FAILED");
  }
}
