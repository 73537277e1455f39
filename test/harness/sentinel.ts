import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./addresses.js";
import { waitFor } from "./redis-server.js";

export interface SentinelHandle {
  host: string;
  port: number;
  masterName: string;
  /** Its requirepass, if any. */
  password: string | undefined;
  stop(): Promise<void>;
}

/**
 * A real redis-sentinel (Debian's package) on loopback watching `master` as "mymaster" with
 * quorum 1. Ready once it lists `replicas` replicas and has subscribed to the hello channel on
 * the master, i.e. once the master shows it manages it.
 */
export async function startSentinel(options: {
  dir: string;
  host: string;
  master: { ip: string; port: number };
  replicas: number;
  /** down-after-milliseconds; long by default so that only a forced failover happens. */
  downAfterMs?: number;
  /** Default 1. */
  quorum?: number;
  /** Ready only once it knows this many other Sentinels (started alongside it). */
  otherSentinels?: number;
  parallelSyncs?: number;
  /** `requirepass` of the Sentinel itself (clients and the other Sentinels must give it). */
  password?: string;
  /** `sentinel auth-pass`: the password of the servers it watches. */
  masterPassword?: string;
}): Promise<SentinelHandle> {
  const { dir, host, master } = options;
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
      `sentinel monitor mymaster ${master.ip} ${master.port} ${options.quorum ?? 1}`,
      `sentinel down-after-milliseconds mymaster ${options.downAfterMs ?? 600_000}`,
      "sentinel failover-timeout mymaster 60000",
      ...(options.parallelSyncs
        ? [`sentinel parallel-syncs mymaster ${options.parallelSyncs}`]
        : []),
      // Sentinels of one master share one password: each gives its own to the others.
      ...(options.password !== undefined
        ? [
            `requirepass ${confQuote(options.password)}`,
            `sentinel sentinel-pass ${confQuote(options.password)}`,
          ]
        : []),
      ...(options.masterPassword !== undefined
        ? [`sentinel auth-pass mymaster ${confQuote(options.masterPassword)}`]
        : []),
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("redis-sentinel", [config], { stdio: "ignore" });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
  };
  const sentinel = new Redis({
    host,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    ...(options.password !== undefined ? { password: options.password } : {}),
  });
  const onMaster = new Redis({
    host: master.ip,
    port: master.port,
    maxRetriesPerRequest: 1,
    ...(options.masterPassword !== undefined ? { password: options.masterPassword } : {}),
  });
  sentinel.on("error", () => {});
  onMaster.on("error", () => {});
  try {
    await waitFor(
      async () => {
        const known = (await sentinel
          .call("SENTINEL", "REPLICAS", "mymaster")
          .catch(() => [])) as unknown[];
        const numsub = (await onMaster
          .call("PUBSUB", "NUMSUB", "__sentinel__:hello")
          .catch(() => [])) as unknown[];
        const others = options.otherSentinels
          ? ((await sentinel
              .call("SENTINEL", "SENTINELS", "mymaster")
              .catch(() => [])) as unknown[])
          : [];
        return (
          known.length >= options.replicas &&
          Number(numsub[1] ?? 0) > 0 &&
          others.length >= (options.otherSentinels ?? 0)
        );
      },
      {
        what: "Sentinel to discover the replicas and say hello",
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
  } catch (error) {
    await stop();
    throw error;
  } finally {
    sentinel.disconnect();
    onMaster.disconnect();
  }
  return { host, port, masterName: "mymaster", password: options.password, stop };
}

/** A sentinel.conf argument in double quotes, as Redis's config parser reads them. */
function confQuote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
