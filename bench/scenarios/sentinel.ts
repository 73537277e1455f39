import type { Redis } from "ioredis";
import { waitFor } from "../../test/harness/redis-server.js";
import { startSentinel as startHarnessSentinel } from "../../test/harness/sentinel.js";
import type { Machine } from "../../test/harness/topology.js";
import { client } from "./topology.js";

export interface Sentinel {
  host: string;
  port: number;
  /**
   * SENTINEL FAILOVER once Sentinel accepts it. NOGOODSLAVE (no replica it considers fit yet)
   * is retried for up to `timeoutMs`, then thrown with what Sentinel knows of each replica.
   * Resolves with performance.now() taken just before the accepted attempt was sent.
   */
  failover(timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** What SENTINEL REPLICAS says of one replica (field → value). */
type ReplicaView = Record<string, string>;

async function replicaViews(redis: Redis): Promise<ReplicaView[]> {
  const reply = (await redis.call("SENTINEL", "REPLICAS", "mymaster")) as string[][];
  return reply.map((flat) => {
    const view: ReplicaView = {};
    for (let i = 0; i + 1 < flat.length; i += 2) view[flat[i] as string] = flat[i + 1] as string;
    return view;
  });
}

/**
 * Fit for promotion in Sentinel's eyes (sentinelSelectSlave): connected and not down, INFO
 * fetched recently, answering pings, reporting itself a replica with a known offset.
 */
function fitForPromotion(view: ReplicaView): boolean {
  const flags = (view.flags ?? "").split(",");
  return (
    flags.includes("slave") &&
    !flags.some((flag) => ["s_down", "o_down", "disconnected"].includes(flag)) &&
    view["role-reported"] === "slave" &&
    Number(view["info-refresh"]) < 5_000 &&
    Number(view["last-ok-ping-reply"]) < 5_000 &&
    Number(view["slave-repl-offset"]) > 0
  );
}

const describeViews = (views: ReplicaView[]) =>
  views
    .map(
      (view) =>
        `${view.ip}:${view.port} flags=${view.flags} info-refresh=${view["info-refresh"]} offset=${view["slave-repl-offset"]}`,
    )
    .join("; ") || "no replicas";

/**
 * Debian's redis-sentinel watching `master` as "mymaster"; automatic failover effectively off.
 * Resolves once Sentinel knows `replicas` replicas well enough to promote one (stricter than the
 * harness's readiness: SENTINEL FAILOVER refuses replicas it has not fully assessed).
 */
export async function startSentinel(
  dir: string,
  host: string,
  master: Machine,
  replicas: number,
  options: { downAfterMs?: number } = {},
): Promise<Sentinel> {
  // The harness starts it and waits until it lists the replicas and says hello on the master.
  const started = await startHarnessSentinel({
    dir,
    host,
    master,
    replicas,
    ...(options.downAfterMs !== undefined ? { downAfterMs: options.downAfterMs } : {}),
  });
  const { port, stop } = started;
  const redis = client({ ip: host, port });
  let last: ReplicaView[] = [];
  try {
    await waitFor(
      async () => {
        last = await replicaViews(redis);
        return last.filter(fitForPromotion).length >= replicas;
      },
      { what: "Sentinel to know the replicas", timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; Sentinel sees: ${describeViews(last)}`);
  } finally {
    redis.disconnect();
  }
  return {
    host,
    port,
    async failover(timeoutMs = 15_000) {
      const redis = client({ ip: host, port });
      let refusals = 0;
      try {
        return await waitFor(
          async () => {
            const sent = performance.now();
            try {
              await redis.call("SENTINEL", "FAILOVER", "mymaster");
              return sent;
            } catch (error) {
              if (!/NOGOODSLAVE/.test(String(error))) throw error;
              refusals++;
              return false;
            }
          },
          { what: "Sentinel to accept SENTINEL FAILOVER", timeoutMs, intervalMs: 100 },
        );
      } catch (error) {
        const views = await replicaViews(redis).catch(() => []);
        throw new Error(
          `SENTINEL FAILOVER refused ${refusals} times: ${(error as Error).message}; Sentinel sees: ${describeViews(views)}`,
        );
      } finally {
        redis.disconnect();
      }
    },
    stop,
  };
}
