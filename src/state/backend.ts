import { lookup } from "node:dns/promises";
import { resolve } from "node:path";
import { FailoverError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { FileJournal } from "./file-journal.js";
import { FileDecisions, FileLocks } from "./file-locks.js";
import {
  connectControlPlane,
  describeRedisUrl,
  RedisDecisions,
  RedisJournal,
  RedisLocks,
} from "./redis-state.js";
import type { StateBackend } from "./types.js";

export interface ManagedEndpoint {
  host: string;
  port: number;
  /** Named in the refusal, e.g. "cluster cache-eu host redis-1". */
  name?: string;
}

export interface StateBackendOptions {
  stateDir: string;
  /** A control-plane Redis shared by every bot instance; without it, files under stateDir. */
  redisUrl?: string;
  /** Name of the env var that holds the control-plane password (overrides the URL's). */
  redisPasswordEnv?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Every Redis endpoint of every managed cluster: the control plane must be none of them. */
  managedEndpoints: ManagedEndpoint[];
}

export async function openStateBackend(options: StateBackendOptions): Promise<StateBackend> {
  if (options.redisUrl !== undefined && options.redisUrl !== "") {
    return openRedisBackend(options.redisUrl, options);
  }
  return openFileBackend(options.stateDir, options.log);
}

async function openFileBackend(stateDir: string, log: Logger): Promise<StateBackend> {
  const journal = await FileJournal.open(stateDir, log);
  return {
    description: `file:${resolve(stateDir)}`,
    journal,
    locks: await FileLocks.open(stateDir, log),
    decisions: await FileDecisions.open(stateDir, log),
    close: () => journal.close(),
  };
}

async function openRedisBackend(url: string, options: StateBackendOptions): Promise<StateBackend> {
  const { host, port } = parseRedisUrl(url);
  await refuseManagedEndpoint(host, port, options.managedEndpoints);
  let password: string | undefined;
  if (options.redisPasswordEnv) {
    password = options.env[options.redisPasswordEnv];
    if (!password) {
      throw new FailoverError(
        "CONFIG_INVALID",
        `the state Redis password is read from $${options.redisPasswordEnv}, which is not set`,
      );
    }
  }
  const client = await connectControlPlane({ url, ...(password ? { password } : {}) });
  return {
    description: `redis:${describeRedisUrl(url)}`,
    journal: new RedisJournal(client, options.log),
    locks: new RedisLocks(client, options.log),
    decisions: new RedisDecisions(client),
    async close() {
      await client.quit().catch(() => client.disconnect(false));
    },
  };
}

function parseRedisUrl(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FailoverError("CONFIG_INVALID", "the state Redis URL is not a URL");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new FailoverError(
      "CONFIG_INVALID",
      `the state Redis URL must start with redis:// or rediss:// (got ${parsed.protocol}//)`,
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (!host) throw new FailoverError("CONFIG_INVALID", "the state Redis URL names no host");
  return { host, port: parsed.port ? Number(parsed.port) : 6379 };
}

/** The control plane must never be a Redis the bot fails over: that would fence its own state. */
async function refuseManagedEndpoint(
  host: string,
  port: number,
  endpoints: ManagedEndpoint[],
): Promise<void> {
  const samePort = endpoints.filter((endpoint) => endpoint.port === port);
  if (samePort.length === 0) return;
  const ours = await addresses(host);
  for (const endpoint of samePort) {
    const theirs = await addresses(endpoint.host);
    if ([...theirs].some((address) => ours.has(address))) {
      const name = endpoint.name
        ? `${endpoint.name} (${endpoint.host}:${port})`
        : `${endpoint.host}:${port}`;
      throw new FailoverError(
        "CONFIG_INVALID",
        `the state Redis ${host}:${port} is the managed Redis ${name}: the control plane must be a ` +
          "separate Redis that no cluster in the inventory includes",
      );
    }
  }
}

/** The host name itself and whatever it resolves to; a name that does not resolve is kept as is. */
async function addresses(host: string): Promise<Set<string>> {
  const names = new Set([host.toLowerCase()]);
  try {
    for (const { address } of await lookup(host, { all: true })) names.add(address.toLowerCase());
  } catch {
    // compared by name only; connecting will report it
  }
  return names;
}
