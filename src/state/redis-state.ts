import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { errorMessage, FailoverError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { matchesFilter } from "./file-journal.js";
import { RenewingLease } from "./renewing-lease.js";
import type {
  AcquireResult,
  ClusterLocks,
  Decisions,
  JournalRecord,
  JournalStore,
  LockHolder,
} from "./types.js";

export const JOURNAL_KEY = "rfb:journal";
const lockKey = (cluster: string) => `rfb:lock:${cluster}`;
const fenceKey = (cluster: string) => `rfb:fence:${cluster}`;
const decisionKey = (key: string) =>
  `rfb:decision:${createHash("sha256").update(key).digest("hex")}`;

const PAGE = 1000;

export interface ControlPlaneOptions {
  /** redis://[user:password@]host[:port][/db] or rediss://... */
  url: string;
  /** Overrides a password in the URL. */
  password?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/**
 * The control-plane client. Unlike the engine's clients (src/redis/node.ts) it reconnects with
 * backoff and queues commands while reconnecting, so the bot rides out a blip of the control
 * plane; every command is still bounded by commandTimeout, queued time included. Commands that
 * were in flight when the connection dropped are not resent: they may have run (an XADD twice,
 * a SET NX that then fails as "held"), so they fail with a timeout and the caller decides. A
 * command that timed out while queued is still sent once the connection is back: a failed
 * append or acquire means "outcome unknown", not "did not happen".
 */
export async function connectControlPlane(options: ControlPlaneOptions): Promise<Redis> {
  const commandTimeout = options.commandTimeoutMs ?? 5_000;
  const client = new Redis(options.url, {
    ...(options.password !== undefined ? { password: options.password } : {}),
    protocol: 2,
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    commandTimeout,
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    disableClientInfo: true,
    connectionName: "redis-failover-bot-state",
  });
  let lastError: unknown;
  client.on("error", (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect(false);
    throw new FailoverError(
      "REDIS_UNREACHABLE",
      `cannot reach the state Redis at ${describeRedisUrl(options.url)}: ${errorMessage(lastError ?? error)}`,
      { cause: error },
    );
  }
  return client;
}

/** host:port/db of a Redis URL, without credentials. */
export function describeRedisUrl(url: string): string {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? parsed.pathname.slice(1) : "0";
  return `${parsed.hostname.replace(/^\[|\]$/g, "")}:${parsed.port || "6379"}/${db}`;
}

/** Errors of the control plane, named as such: they are not errors of a managed Redis. */
async function guard<T>(client: Redis, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const { host, port, db } = client.options;
    throw new FailoverError(
      client.status === "ready" ? "REDIS_COMMAND_FAILED" : "REDIS_UNREACHABLE",
      `state Redis ${host}:${port}/${db ?? 0}: ${what} failed: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/** The journal as the stream rfb:journal, one entry per record (field "r": the JSON). */
export class RedisJournal implements JournalStore {
  readonly #client: Redis;
  readonly #log: Logger;
  #records: JournalRecord[] = [];
  #lastId: string | undefined;
  #firstId: string | undefined;
  #reading: Promise<void> | undefined;

  constructor(client: Redis, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  async append(record: JournalRecord): Promise<void> {
    const json = JSON.stringify(record);
    await guard(this.#client, "appending to the journal", () =>
      this.#client.xadd(JOURNAL_KEY, "*", "r", json),
    );
  }

  /**
   * Every readable record so far. Entries are parsed once: each read fetches only the entries
   * added since the last one (stream ids only grow), so reads stay cheap as the journal grows.
   */
  async read(filter?: { runId?: string; since?: number }): Promise<JournalRecord[]> {
    this.#reading ??= this.#catchUp().finally(() => {
      this.#reading = undefined;
    });
    await this.#reading;
    return this.#records.filter((record) => matchesFilter(record, filter));
  }

  async #catchUp(): Promise<void> {
    const [first] = await guard(this.#client, "reading the journal", () =>
      this.#client.xrange(JOURNAL_KEY, "-", "+", "COUNT", 1),
    );
    if (this.#firstId !== undefined && first?.[0] !== this.#firstId) {
      // The stream was trimmed or deleted under us: start over.
      this.#records = [];
      this.#lastId = undefined;
      this.#firstId = undefined;
    }
    const damaged: string[] = [];
    for (;;) {
      const from = this.#lastId === undefined ? "-" : nextId(this.#lastId);
      const page = await guard(this.#client, "reading the journal", () =>
        this.#client.xrange(JOURNAL_KEY, from, "+", "COUNT", PAGE),
      );
      for (const [id, fields] of page) {
        const record = parseEntry(fields);
        if (record === undefined) damaged.push(id);
        else this.#records.push(record);
        this.#lastId = id;
        this.#firstId ??= id;
      }
      if (page.length < PAGE) break;
    }
    if (damaged.length > 0) {
      this.#log.warn(
        { journal: JOURNAL_KEY, entries: damaged },
        `journal ${JOURNAL_KEY}: skipped ${damaged.length} unreadable entries: ${damaged.join(", ")}`,
      );
    }
  }

  async close(): Promise<void> {}
}

function parseEntry(fields: string[]): JournalRecord | undefined {
  const index = fields.indexOf("r");
  const json = index % 2 === 0 ? fields[index + 1] : undefined;
  if (json === undefined) return undefined;
  try {
    const value = JSON.parse(json) as Partial<JournalRecord> | null;
    if (
      typeof value?.type === "string" &&
      typeof value.runId === "string" &&
      typeof value.at === "number"
    ) {
      return value as JournalRecord;
    }
  } catch {
    // reported by the caller
  }
  return undefined;
}

/** The id right after `id` ("(id" would need Redis 6.2). */
function nextId(id: string): string {
  const [ms = "0", seq = "0"] = id.split("-");
  return `${ms}-${BigInt(seq) + 1n}`;
}

const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`;

/**
 * Locks as keys rfb:lock:<cluster> (SET NX PX) holding the LockHolder JSON, which stays as
 * written: renewal only extends the key's TTL, and holder() reports expiresAt from PTTL.
 * Fencing tokens come from INCR rfb:fence:<cluster>, so they only grow, with gaps.
 */
export class RedisLocks implements ClusterLocks {
  readonly #client: Redis;
  readonly #log: Logger;

  constructor(client: Redis, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  acquire(
    cluster: string,
    owner: { runId: string; instance: string },
    leaseMs: number,
  ): Promise<AcquireResult> {
    return guard(this.#client, `locking cluster ${cluster}`, () =>
      this.#acquire(cluster, owner, leaseMs),
    );
  }

  holder(cluster: string): Promise<LockHolder | undefined> {
    return guard(this.#client, `reading the lock of cluster ${cluster}`, () =>
      this.#holder(cluster),
    );
  }

  async #acquire(
    cluster: string,
    owner: { runId: string; instance: string },
    leaseMs: number,
  ): Promise<AcquireResult> {
    const key = lockKey(cluster);
    for (let attempt = 0; attempt < 5; attempt++) {
      const fencingToken = await this.#client.incr(fenceKey(cluster));
      const acquiredAt = Date.now();
      const value = JSON.stringify({ ...owner, fencingToken, expiresAt: acquiredAt + leaseMs });
      const reply = await this.#client.set(key, value, "PX", leaseMs, "NX");
      if (reply === "OK") {
        return {
          ok: true,
          lease: new RenewingLease({
            cluster,
            fencingToken,
            leaseMs,
            acquiredAt,
            log: this.#log,
            renew: async () => (await this.#client.eval(RENEW, 1, key, value, leaseMs)) === 1,
            release: () =>
              guard(this.#client, `unlocking cluster ${cluster}`, async () => {
                await this.#client.eval(RELEASE, 1, key, value);
              }),
          }),
        };
      }
      const holder = await this.#holder(cluster);
      if (holder) return { ok: false, holder };
      // It expired between our SET and GET: try again.
    }
    throw new Error(`could not acquire the lock ${key}: it kept changing under us`);
  }

  async #holder(cluster: string): Promise<LockHolder | undefined> {
    const key = lockKey(cluster);
    const replies = await this.#client.multi().get(key).pttl(key).exec();
    const [[, value] = [], [, ttl] = []] = replies ?? [];
    if (typeof value !== "string" || typeof ttl !== "number" || ttl <= 0) return undefined;
    try {
      const holder = JSON.parse(value) as LockHolder;
      return { ...holder, expiresAt: Date.now() + ttl };
    } catch {
      // Not ours to interpret; whoever wrote it holds it until it expires.
      return {
        runId: "(unreadable)",
        instance: "(unreadable)",
        fencingToken: 0,
        expiresAt: Date.now() + ttl,
      };
    }
  }
}

/** First-writer-wins decisions as keys rfb:decision:<sha256(key)> (SET NX PX ttl). */
export class RedisDecisions implements Decisions {
  readonly #client: Redis;

  constructor(client: Redis) {
    this.#client = client;
  }

  /** The value recorded under `key`, if any. */
  async read(key: string): Promise<string | undefined> {
    const value = await guard(this.#client, "reading a decision", () =>
      this.#client.get(decisionKey(key)),
    );
    return value ?? undefined;
  }

  async claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    const reply = await guard(this.#client, "recording a decision", () =>
      this.#client.set(decisionKey(key), value, "PX", ttlMs, "NX"),
    );
    return reply === "OK";
  }
}
