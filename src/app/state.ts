import type { Inventory } from "../config/inventory.js";
import type { Logger } from "../log/logger.js";
import type { Secrets } from "../secrets.js";
import { openStateBackend } from "../state/backend.js";
import { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";

export interface StateSettings {
  /** STATE_DIR: the embedded journal and locks (default ./state). */
  stateDir: string;
  /** STATE_REDIS_URL: a control-plane Redis shared by several bot instances. */
  redisUrl?: string;
  /** LOCK_LEASE_SECONDS: how long a cluster lock lives without renewal (default 30). */
  leaseMs: number;
}

export function stateSettings(env: NodeJS.ProcessEnv): StateSettings {
  const lease = Number(env.LOCK_LEASE_SECONDS ?? 30);
  return {
    stateDir: env.STATE_DIR || "./state",
    ...(env.STATE_REDIS_URL ? { redisUrl: env.STATE_REDIS_URL } : {}),
    leaseMs: Number.isFinite(lease) && lease > 0 ? lease * 1000 : 30_000,
  };
}

/** Opens the journal and locks; refuses a control plane that is one of the managed servers. */
export async function openState(options: {
  settings: StateSettings;
  inventory: Inventory;
  env: NodeJS.ProcessEnv;
  log: Logger;
  secrets: Secrets;
}): Promise<{ backend: StateBackend; journal: RunJournal }> {
  if (options.settings.redisUrl) {
    try {
      options.secrets.add(decodeURIComponent(new URL(options.settings.redisUrl).password));
    } catch {
      // An unparseable URL is refused by openStateBackend with a clear message.
    }
  }
  const backend = await openStateBackend({
    stateDir: options.settings.stateDir,
    ...(options.settings.redisUrl ? { redisUrl: options.settings.redisUrl } : {}),
    env: options.env,
    log: options.log,
    managedEndpoints: [...options.inventory.clusters.values()].flatMap((cluster) =>
      cluster.hosts.map((host) => ({
        host: host.redis.host,
        port: host.redis.port,
        name: `cluster ${cluster.name} host ${host.name}`,
      })),
    ),
  });
  options.log.info({ state: backend.description }, "state backend open");
  return { backend, journal: new RunJournal(backend.journal) };
}
