import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Inventory } from "../config/inventory.js";
import type { Logger } from "../log/logger.js";
import type { Secrets } from "../secrets.js";
import { openStateBackend } from "../state/backend.js";
import { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";

export interface StateSettings {
  /** STATE_DIR: the embedded journal and locks (absolute; see stateDirectory). */
  stateDir: string;
  /** STATE_REDIS_URL: a control-plane Redis shared by several bot instances. */
  redisUrl?: string;
  /** LOCK_LEASE_SECONDS: how long a cluster lock lives without renewal (default 30). */
  leaseMs: number;
}

export function stateSettings(env: NodeJS.ProcessEnv, inventoryPath?: string): StateSettings {
  const lease = Number(env.LOCK_LEASE_SECONDS ?? 30);
  return {
    stateDir: stateDirectory(env, inventoryPath),
    ...(env.STATE_REDIS_URL ? { redisUrl: env.STATE_REDIS_URL } : {}),
    leaseMs: Number.isFinite(lease) && lease > 0 ? lease * 1000 : 30_000,
  };
}

/**
 * Where the journal and locks live, the same from any working directory, so the CLI and the bot
 * share them: STATE_DIR if absolute; a relative STATE_DIR is taken from the inventory file's
 * directory (`.env`'s `STATE_DIR=./state` sits next to inventory.yml); without STATE_DIR,
 * $XDG_STATE_HOME/redis-failover, else ~/.local/state/redis-failover.
 */
export function stateDirectory(env: NodeJS.ProcessEnv, inventoryPath?: string): string {
  const configured = env.STATE_DIR;
  if (configured) {
    if (isAbsolute(configured)) return configured;
    return resolve(inventoryPath ? dirname(resolve(inventoryPath)) : process.cwd(), configured);
  }
  const base =
    env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME)
      ? env.XDG_STATE_HOME
      : join(env.HOME || homedir(), ".local", "state");
  return join(base, "redis-failover");
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
