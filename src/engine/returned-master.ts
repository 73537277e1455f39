import { keyCount } from "../redis/info.js";
import type { RedisNode } from "../redis/node.js";
import { compareHistories, type Divergence, historyMark } from "../topology/divergence.js";

/** What an old master that answers again holds, next to the current master. Plain data. */
export interface ReturnedMaster {
  name: string;
  role: "master" | "replica" | "unknown";
  /** The server it follows, when it is a replica. */
  follows?: { host: string; port: number };
  keys: number;
  replicationId?: string;
  offset: number;
  current: { name: string; replicationId?: string; offset: number };
  divergence: Divergence;
  /** One line for people: role, keys, and whether writes diverged. */
  summary: string;
}

/**
 * Reads a returning old master and the current master side by side (role, keys, replication
 * ID and offset) and says whether the old one holds writes the current master lacks. Changes
 * nothing; used by the fence step, and meant for a watch that reports a host's return.
 */
export async function inspectReturnedMaster(
  returning: RedisNode,
  current: RedisNode,
): Promise<ReturnedMaster> {
  const [info, currentInfo] = await Promise.all([returning.info(), current.info("replication")]);
  const mark = historyMark(info);
  const currentMark = historyMark(currentInfo);
  const roleName = info.get("role");
  const role = roleName === "master" ? "master" : roleName === "slave" ? "replica" : "unknown";
  const keys = keyCount(info);
  const divergence: Divergence =
    role === "replica"
      ? { diverged: false, reason: "it is a replica: it took no writes of its own" }
      : compareHistories(mark, currentMark);
  const result: ReturnedMaster = {
    name: returning.name,
    role,
    keys,
    offset: mark.offset,
    current: { name: current.name, offset: currentMark.offset },
    divergence,
    summary: "",
  };
  if (mark.replicationId) result.replicationId = mark.replicationId;
  if (currentMark.replicationId) result.current.replicationId = currentMark.replicationId;
  const masterHost = info.get("master_host");
  if (role === "replica" && masterHost)
    result.follows = { host: masterHost, port: Number(info.get("master_port") ?? 0) };
  const what =
    divergence.diverged === true
      ? `holds ${divergence.bytes} bytes of writes ${current.name} lacks (${divergence.reason})`
      : divergence.diverged === "unknown"
        ? `may hold writes ${current.name} lacks (${divergence.reason})`
        : `holds no write ${current.name} lacks (${divergence.reason})`;
  result.summary = `${returning.name} answers as ${role === "replica" ? `a replica of ${result.follows?.host}:${result.follows?.port}` : role} with ${keys} keys at offset ${mark.offset}; it ${what}`;
  return result;
}
