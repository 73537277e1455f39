import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../test/harness/addresses.js";
import { waitFor } from "../../test/harness/redis-server.js";
import type { Machine } from "../../test/harness/topology.js";
import { client } from "./topology.js";

export interface Sentinel {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Debian's redis-sentinel watching `master` as "mymaster"; automatic failover effectively off. */
export async function startSentinel(
  dir: string,
  host: string,
  master: Machine,
  replicas: number,
  options: { downAfterMs?: number } = {},
): Promise<Sentinel> {
  await mkdir(dir, { recursive: true });
  const port = await freePort(host);
  const config = join(dir, "sentinel.conf");
  await writeFile(
    config,
    [
      `bind ${host}`,
      `port ${port}`,
      `dir ${dir}`,
      `logfile ${join(dir, "sentinel.log")}`,
      `sentinel monitor mymaster ${master.ip} ${master.port} 1`,
      // Unless asked (automatic failover measured), only the forced SENTINEL FAILOVER is measured.
      `sentinel down-after-milliseconds mymaster ${options.downAfterMs ?? 600_000}`,
      "sentinel failover-timeout mymaster 60000",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("redis-sentinel", [config], { stdio: "ignore" });
  const redis = client({ ip: host, port });
  try {
    await waitFor(
      async () => {
        const known = (await redis
          .call("SENTINEL", "REPLICAS", "mymaster")
          .catch(() => [])) as unknown[];
        return known.length >= replicas;
      },
      { what: "Sentinel to discover the replicas", timeoutMs: 30_000, intervalMs: 100 },
    );
  } finally {
    redis.disconnect();
  }
  return {
    host,
    port,
    async stop() {
      child.kill("SIGKILL");
      if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
