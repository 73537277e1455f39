import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis, type RedisOptions } from "ioredis";
import { errorMessage } from "../../src/errors.js";
import { allocateAddressBlock, freePort } from "./addresses.js";
import {
  isRunning,
  ownsPidFile,
  processState,
  readPidFile,
  registerPidFile,
  registerProcess,
  terminate,
  unregisterProcess,
} from "./processes.js";

/** Debian's Redis, on PATH; a Valkey server binary may be given instead (see flavours.ts). */
const REDIS_SERVER = "redis-server";

export interface RedisEndpoint {
  host: string;
  port: number;
  password?: string | undefined;
}

/** RedisOptions without replyMapping, which the constructor types reject as undefined. */
export type ClientOptions = Omit<RedisOptions, "replyMapping">;

/** A connected ioredis client, or where to connect (a RedisServer is one). */
export type RedisTarget = Redis | RedisEndpoint;

export interface RedisConfigOptions {
  name: string;
  host: string;
  port: number;
  /** Data dir; redis.conf, redis.pid and redis.log are written here too. */
  dir: string;
  dbfilename?: string;
  appendonly?: boolean;
  /** requirepass and masterauth. */
  password?: string;
  replicaOf?: { host: string; port: number };
  daemonize?: boolean;
  /** The `save` directive; "" (the default) means no automatic snapshots. */
  save?: string;
  /** Additional directives, each value written verbatim (so multi-argument values work). */
  extra?: Record<string, string>;
  /** The server program the config is for (its version decides some directives); default redis-server. */
  serverBinary?: string;
}

export interface StartRedisOptions extends Omit<RedisConfigOptions, "daemonize"> {
  /** How long to wait until it answers with loading:0 (default 20 s). */
  timeoutMs?: number;
}

export interface RedisServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly password: string | undefined;
  readonly dir: string;
  readonly configFile: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly pid: number;
  /** The shared client (protocol 2), or with `options` a new one; all closed by stop()/kill(). */
  client(options?: ClientOptions): Redis;
  isRunning(): boolean;
  /** SHUTDOWN NOSAVE NOW, else SIGTERM, then SIGKILL; resolves once the process is gone. */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP; resolves once the process is stopped. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export function redisFiles(dir: string): { configFile: string; pidFile: string; logFile: string } {
  const absolute = resolve(dir);
  return {
    configFile: join(absolute, "redis.conf"),
    pidFile: join(absolute, "redis.pid"),
    logFile: join(absolute, "redis.log"),
  };
}

const versions = new Map<string, Promise<number[]>>();

/** [major, minor, patch] as `<binary> --version` prints it ("Redis server v=7.0.15 ...", "Valkey server v=8.0.1 ..."). */
export function serverVersion(binary = REDIS_SERVER): Promise<number[]> {
  let version = versions.get(binary);
  if (!version) {
    version = promisify(execFile)(binary, ["--version"]).then(({ stdout }) => {
      const match = /v=(\d+)\.(\d+)\.(\d+)/.exec(stdout);
      if (!match) throw new Error(`cannot parse ${binary} --version: ${stdout}`);
      return match.slice(1).map(Number);
    });
    versions.set(binary, version);
  }
  return version;
}

/** A config argument, double-quoted (with Redis's escapes) unless it is a plain word. */
function quote(value: string): string {
  if (/^[\w./:@+-]+$/.test(value)) return value;
  const escaped = [...value]
    .map((char) => {
      const code = char.charCodeAt(0);
      if (char === '"' || char === "\\") return `\\${char}`;
      return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char;
    })
    .join("");
  return `"${escaped}"`;
}

const yesNo = (value: boolean | undefined) => (value ? "yes" : "no");

export async function writeRedisConfig(options: RedisConfigOptions): Promise<string> {
  const dir = resolve(options.dir);
  const { configFile, pidFile, logFile } = redisFiles(dir);
  const [major = 0] = await serverVersion(options.serverBinary);
  await mkdir(dir, { recursive: true });
  const lines = [
    `# redis-failover-bot test server ${JSON.stringify(options.name)}`,
    `bind ${quote(options.host)}`,
    `port ${options.port}`,
    "protected-mode no",
    `daemonize ${yesNo(options.daemonize)}`,
    `dir ${quote(dir)}`,
    `dbfilename ${quote(options.dbfilename ?? "dump.rdb")}`,
    `pidfile ${quote(pidFile)}`,
    `logfile ${quote(logFile)}`,
    `save ${options.save ? options.save : '""'}`,
    `appendonly ${yesNo(options.appendonly)}`,
    // DEBUG POPULATE from a loopback client, for fast bulk loading.
    "enable-debug-command local",
    // A master's INFO replication then lists each replica by its own loopback address.
    `replica-announce-ip ${quote(options.host)}`,
    // The config path in the process title lets test/global-setup.ts find leaked servers,
    // daemonized ones too, by their temp dir.
    'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
    // Otherwise every full sync waits 5 s for more replicas to join the diskless transfer.
    "repl-diskless-sync-delay 0",
  ];
  // Outgoing connections (replica to master) then come from the server's own address.
  if (major >= 7) lines.push(`bind-source-addr ${quote(options.host)}`);
  if (options.password !== undefined) {
    lines.push(`requirepass ${quote(options.password)}`, `masterauth ${quote(options.password)}`);
  }
  if (options.replicaOf) {
    lines.push(`replicaof ${quote(options.replicaOf.host)} ${options.replicaOf.port}`);
  }
  for (const [directive, value] of Object.entries(options.extra ?? {})) {
    lines.push(`${directive} ${value}`);
  }
  await writeFile(configFile, `${lines.join("\n")}\n`);
  // Whoever starts a server from this config (the product, daemonized), it gets reaped.
  registerPidFile(pidFile);
  return configFile;
}

export async function startRedis(options: StartRedisOptions): Promise<RedisServer> {
  const { timeoutMs = 20_000, ...configOptions } = options;
  const configFile = await writeRedisConfig({ ...configOptions, daemonize: false });
  const { pidFile, logFile } = redisFiles(options.dir);
  const binary = options.serverBinary ?? REDIS_SERVER;
  const child = spawn(binary, [configFile], { stdio: ["ignore", "pipe", "pipe"] });
  // Errors from before the logfile is opened (a bad config) only reach stdout/stderr.
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const running = () => child.exitCode === null && child.signalCode === null;
  await once(child, "spawn");
  const pid = child.pid ?? 0;
  const description = `${basename(binary)} ${options.name} at ${options.host}:${options.port}`;
  registerProcess(pid, description);
  void exited.then(() => unregisterProcess(pid));

  const endpoint: RedisEndpoint = {
    host: options.host,
    port: options.port,
    password: options.password,
  };
  const died = new AbortController();
  child.once("exit", (code, signal) =>
    died.abort(new Error(`${basename(binary)} exited (${signal ?? `code ${code}`})`)),
  );
  try {
    await waitFor(() => isReady(endpoint, pid), {
      what: `${description} to answer with loading:0`,
      timeoutMs,
      intervalMs: 25,
      signal: died.signal,
    });
  } catch (error) {
    if (running()) child.kill("SIGKILL");
    await exited;
    const log = await tail(logFile);
    const printed = output.trim() ? `--- output ---\n${output.trim()}\n` : "";
    throw new Error(
      `${description} (${configFile}) did not start: ${errorMessage(error)}\n` +
        `${printed}--- ${logFile} (tail) ---\n${log}`,
    );
  }

  const clients = new Set<Redis>();
  let shared: Redis | undefined;
  const closeClients = () => {
    for (const client of clients) client.disconnect();
    clients.clear();
    shared = undefined;
  };
  const exitedWithin = (ms: number) => settlesWithin(exited, ms);
  const waitForState = (wanted: (state: string | undefined) => boolean, what: string) =>
    waitFor(() => wanted(processState(pid)), { what: `${description} to be ${what}` });

  // Signals go to our own child only while it runs: once reaped, its pid may be reused.
  return {
    name: options.name,
    host: options.host,
    port: options.port,
    password: options.password,
    dir: resolve(options.dir),
    configFile,
    pidFile,
    logFile,
    pid,
    client(clientOptions) {
      if (!clientOptions && shared) return shared;
      const client = new Redis({ ...redisOptions(endpoint), ...clientOptions });
      client.on("error", () => {}); // commands still reject; this only silences reconnect noise
      clients.add(client);
      if (!clientOptions) shared = client;
      return client;
    },
    isRunning: running,
    async stop() {
      closeClients();
      if (!running()) return;
      if (processState(pid) === "T") process.kill(pid, "SIGCONT");
      try {
        // NOW: do not wait up to shutdown-timeout for lagging (e.g. paused) replicas.
        await withClient(endpoint, (client) => client.shutdown("NOSAVE", "NOW"), {
          commandTimeout: 2_000,
        });
      } catch {
        // the connection drops as the server exits; if it refused, signals follow
      }
      if (await exitedWithin(5_000)) return;
      process.kill(pid, "SIGTERM");
      if (await exitedWithin(5_000)) return;
      process.kill(pid, "SIGKILL");
      await exited;
    },
    async kill(signal = "SIGKILL") {
      closeClients();
      if (!running()) return;
      process.kill(pid, signal);
      if (signal !== "SIGKILL") process.kill(pid, "SIGCONT"); // a paused server must act on it
      if (await exitedWithin(15_000)) return;
      process.kill(pid, "SIGKILL");
      await exited;
      throw new Error(`${description} did not exit on ${signal} within 15 s; SIGKILLed it`);
    },
    async pause() {
      process.kill(pid, "SIGSTOP");
      await waitForState((state) => state === "T", "stopped");
    },
    async resume() {
      process.kill(pid, "SIGCONT");
      await waitForState((state) => state !== "T", "running again");
    },
  };
}

/** Stops a (daemonized) server by its pidfile; false if no server was running there. */
/**
 * A scratch server of its own (own address, own port) that loads a kept snapshot file, to
 * read what the file holds without touching the server that wrote it.
 */
export async function startRedisFromSnapshot(file: string, dir: string): Promise<RedisServer> {
  await mkdir(dir, { recursive: true });
  await copyFile(file, join(dir, "kept.rdb"));
  const ip = allocateAddressBlock().ip(1);
  return startRedis({
    name: "scratch",
    host: ip,
    port: await freePort(ip),
    dir,
    dbfilename: "kept.rdb",
  });
}

export async function stopRedisByPidfile(pidFile: string, graceMs = 5_000): Promise<boolean> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined || !isRunning(pid) || !ownsPidFile(pid, pidFile)) return false;
  await terminate(pid, graceMs);
  return true;
}

export interface WaitForOptions {
  /** Named in the timeout error: "Timed out after 10000 ms waiting for <what>". */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Gives up at once with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls `condition` until it returns a truthy value, and returns that value. A condition that
 * throws counts as not yet; its last error is included in the timeout error.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Exclude<T, false | null | undefined | 0 | "">> {
  const { what, timeoutMs = 10_000, intervalMs = 50, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    try {
      // A condition that hangs (e.g. a command to a paused server) must not outlast the deadline.
      const value = await raceTimeout(condition(), Math.max(remaining, 0));
      if (value === TIMED_OUT) lastError = new Error("the last check did not finish in time");
      else if (value) return value as Exclude<T, false | null | undefined | 0 | "">;
    } catch (error) {
      lastError = error;
    }
    signal?.throwIfAborted();
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? "" : ` (last error: ${errorMessage(lastError)})`;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
  }
}

const TIMED_OUT = Symbol("timed out");

function raceTimeout<T>(value: T | Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolveTimeout) => {
    timer = setTimeout(resolveTimeout, ms, TIMED_OUT);
  });
  return Promise.race([value, timeout]).finally(() => clearTimeout(timer));
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return (await raceTimeout(promise, ms)) !== TIMED_OUT;
}

function withoutReplyMapping({ replyMapping: _, ...options }: RedisOptions): ClientOptions {
  return options;
}

function redisOptions(endpoint: RedisEndpoint): ClientOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    password: endpoint.password,
    protocol: 2,
  };
}

/** Runs fn with `target` itself, or a short-lived client that does not retry, then closes it. */
export async function withClient<T>(
  target: RedisTarget,
  fn: (client: Redis) => Promise<T>,
  options: ClientOptions = {},
): Promise<T> {
  if (target instanceof Redis && Object.keys(options).length === 0) return fn(target);
  const base = target instanceof Redis ? withoutReplyMapping(target.options) : redisOptions(target);
  const client = new Redis({
    ...base,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    ...options,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** Answers, has loaded its data, and is our process (not another server on that port). */
async function isReady(endpoint: RedisEndpoint, pid: number): Promise<boolean> {
  const info = await withClient(endpoint, (client) => client.info(), { commandTimeout: 2_000 });
  if (infoField(info, "process_id") !== String(pid)) {
    throw new Error(`${endpoint.host}:${endpoint.port} is served by another process`);
  }
  return infoField(info, "loading") === "0";
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log file)";
  }
}

export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*?)\\r?$`, "m").exec(info)?.[1];
}

export interface LoadDataOptions {
  keys: number;
  valueBytes: number;
  db?: number;
  /** Keys are named <prefix>:<n> for n in 0..keys-1 (default "key"); existing ones are kept. */
  prefix?: string;
  /**
   * DEBUG POPULATE values are zero-filled, so RDB files and full syncs of them are tiny. With
   * this set, every value is the same random bytes (RDB compression works per value), written
   * with pipelined SETs: slower (about 100 MB/s) but the RDB is as large as the data.
   */
  incompressible?: boolean;
}

/**
 * Fills a db fast; returns the number of keys in that db afterwards. DEBUG POPULATE (about
 * 500 MB/s) is not replicated, so it is only used while no replica is connected; otherwise, as
 * when DEBUG is refused, pipelined SETs. A replica that is disconnected during the load and
 * later resyncs partially (PSYNC) misses populated keys: load before attaching replicas.
 */
export async function loadData(target: RedisTarget, options: LoadDataOptions): Promise<number> {
  const { keys, valueBytes, prefix = "key", incompressible = false } = options;
  const clientOptions: ClientOptions = options.db === undefined ? {} : { db: options.db };
  return withClient(
    target,
    async (client) => {
      const replicas = infoField(await client.info("replication"), "connected_slaves");
      if (!incompressible && replicas === "0") {
        try {
          await client.call("DEBUG", "POPULATE", String(keys), prefix, String(valueBytes));
          return await client.dbsize();
        } catch (error) {
          // DEBUG is only allowed from 127.0.0.1 ("local").
          if (!/DEBUG command not allowed/i.test(errorMessage(error))) throw error;
        }
      }
      const value = incompressible ? randomBytes(valueBytes) : Buffer.alloc(valueBytes);
      const batch = Math.max(1, Math.floor(8_000_000 / Math.max(valueBytes, 1)));
      for (let start = 0; start < keys; start += batch) {
        const pipeline = client.pipeline();
        for (let n = start; n < Math.min(keys, start + batch); n++) {
          pipeline.set(`${prefix}:${n}`, value, "NX");
        }
        for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
      }
      return client.dbsize();
    },
    clientOptions,
  );
}

/** Keys in all dbs: the sum over INFO keyspace. */
export async function keyCount(target: RedisTarget): Promise<number> {
  const info = await withClient(target, (client) => client.info("keyspace"), {
    commandTimeout: 5_000,
  });
  let total = 0;
  for (const match of info.matchAll(/^db\d+:keys=(\d+)/gm)) total += Number(match[1]);
  return total;
}

/** Waits until the replica's link is up and it has everything the master has. */
export async function waitForReplicaSync(
  master: RedisTarget,
  replica: RedisTarget,
  timeoutMs = 30_000,
): Promise<void> {
  const replication = (target: RedisTarget) =>
    withClient(target, (client) => client.info("replication"), { commandTimeout: 2_000 });
  await waitFor(
    async () => {
      const [masterInfo, replicaInfo] = await Promise.all([
        replication(master),
        replication(replica),
      ]);
      // The master must see it too: it lists a replica as online only once the sync is done.
      const onlineOnMaster = Object.entries(
        Object.fromEntries(masterInfo.split(/\r?\n/).map((line) => line.split(":"))),
      )
        .filter(([field]) => /^slave\d+$/.test(field))
        .some(([, value]) => String(value).includes("state=online"));
      return (
        infoField(replicaInfo, "master_link_status") === "up" &&
        infoField(replicaInfo, "slave_repl_offset") ===
          infoField(masterInfo, "master_repl_offset") &&
        onlineOnMaster
      );
    },
    { what: "the replica to be in sync with its master", timeoutMs, intervalMs: 100 },
  );
}
