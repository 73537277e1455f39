import { errorMessage } from "../errors.js";
import type { HostRef } from "../plan/types.js";
import type { RedisNode } from "../redis/node.js";
import { inspectReturnedMaster, type ReturnedMaster } from "./returned-master.js";
import { answers, followsMaster } from "./steps/redis-state.js";

/** What one look at a watched old master found. Plain data. */
export type OldMasterProbe =
  | { answers: false }
  | {
      answers: true;
      /** It replicates from the current master: fenced, nothing more to do. */
      followsCurrent: boolean;
      /** Role, keys, divergence; absent when the current master could not be read. */
      returned?: ReturnedMaster;
      /** Why `returned` is missing. */
      problem?: string;
    };

/**
 * One bounded look at an old master: a PING (a hung host costs the connect bound once, then
 * the node's short silent bound), and when it answers, what inspectReturnedMaster says of it
 * next to the current master. Changes nothing.
 */
export async function probeOldMaster(
  node: RedisNode,
  current: RedisNode,
  newMaster: HostRef,
): Promise<OldMasterProbe> {
  if (!(await answers(node))) return { answers: false };
  try {
    const info = await node.info("replication");
    if (followsMaster(info, newMaster)) return { answers: true, followsCurrent: true };
    return {
      answers: true,
      followsCurrent: false,
      returned: await inspectReturnedMaster(node, current),
    };
  } catch (error) {
    return { answers: true, followsCurrent: false, problem: errorMessage(error) };
  }
}
