import { startSentinel as startHarnessSentinel } from "../../test/harness/sentinel.js";
import type { Machine } from "../../test/harness/topology.js";

export interface Sentinel {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Debian's redis-sentinel watching `master` as "mymaster"; automatic failover off unless asked. */
export function startSentinel(
  dir: string,
  host: string,
  master: Machine,
  replicas: number,
  options: { downAfterMs?: number } = {},
): Promise<Sentinel> {
  return startHarnessSentinel({
    dir,
    host,
    master,
    replicas,
    ...(options.downAfterMs !== undefined ? { downAfterMs: options.downAfterMs } : {}),
  });
}
