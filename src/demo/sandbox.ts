import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { sleep } from "../engine/wait.js";

const run = promisify(execFile);

/** One Redis "machine" of the sandbox: its own loopback address, directory and config. */
export interface SandboxServer {
  name: string;
  host: string;
  port: number;
  dir: string;
  configFile: string;
  pidFile: string;
}

/**
 * A local topology for the demo: A (master), B (replica), C (spare, not running) and a config
 * Redis holding the discovery key, each on its own 127.0.0.x address. Every process is
 * daemonized with a pidfile so that the sandbox, not the shell, owns their lifetime.
 */
export async function createSandbox(root: string, port: number) {
  const servers = {
    config: server(root, "config", "127.0.0.10", port),
    a: server(root, "machine-a", "127.0.0.11", port),
    b: server(root, "machine-b", "127.0.0.12", port),
    c: server(root, "machine-c", "127.0.0.13", port),
  };
  for (const entry of Object.values(servers)) {
    if (!(await portFree(entry.host, entry.port))) {
      throw new Error(`${entry.host}:${entry.port} is in use; set DEMO_PORT to another port`);
    }
  }
  await writeConfig(servers.config);
  await writeConfig(servers.a);
  await writeConfig(servers.b, `replicaof ${servers.a.host} ${servers.a.port}`);
  await writeConfig(servers.c);
  return servers;
}

function server(root: string, name: string, host: string, port: number): SandboxServer {
  const dir = join(root, name);
  return {
    name,
    host,
    port,
    dir,
    configFile: join(dir, "redis.conf"),
    pidFile: join(dir, "redis.pid"),
  };
}

async function writeConfig(entry: SandboxServer, ...extra: string[]): Promise<void> {
  await mkdir(entry.dir, { recursive: true });
  const lines = [
    `bind ${entry.host}`,
    `port ${entry.port}`,
    "protected-mode no",
    "daemonize yes",
    `pidfile ${entry.pidFile}`,
    `logfile ${join(entry.dir, "redis.log")}`,
    `dir ${entry.dir}`,
    "dbfilename dump.rdb",
    'save ""',
    "appendonly no",
    `replica-announce-ip ${entry.host}`,
    "repl-diskless-sync-delay 0",
    ...extra,
  ];
  await writeFile(entry.configFile, `${lines.join("\n")}\n`);
}

export async function startServer(entry: SandboxServer): Promise<void> {
  await run("redis-server", [entry.configFile]);
  const client = connect(entry);
  try {
    for (let attempt = 0; attempt < 400; attempt++) {
      try {
        if ((await client.info("persistence")).includes("loading:0")) return;
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    throw new Error(`${entry.name} did not start; see ${join(entry.dir, "redis.log")}`);
  } finally {
    client.disconnect();
  }
}

/** Stops a server the way a lost machine stops: at once, without saving. */
export async function killServer(entry: SandboxServer): Promise<void> {
  const pid = await readPid(entry);
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  while (alive(pid)) await sleep(20);
}

export async function readPid(entry: SandboxServer): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(entry.pidFile, "utf8")).trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function connect(entry: SandboxServer): Redis {
  const client = new Redis({
    host: entry.host,
    port: entry.port,
    protocol: 2,
    lazyConnect: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  return client;
}

/** Sample data of several types, some keys with a TTL, written through a pipeline. */
export async function loadSampleData(
  entry: SandboxServer,
  keys: number,
  valueBytes: number,
): Promise<number> {
  const client = connect(entry);
  try {
    const value = "x".repeat(valueBytes);
    const batch = 5_000;
    for (let start = 0; start < keys; start += batch) {
      const pipeline = client.pipeline();
      for (let i = start; i < Math.min(keys, start + batch); i++) {
        if (i % 10 === 0) pipeline.hset(`user:${i}`, { name: `user ${i}`, visits: i });
        else if (i % 10 === 1) pipeline.rpush(`events:${i}`, "login", "view", "logout");
        else if (i % 10 === 2) pipeline.set(`session:${i}`, value, "EX", 86_400);
        else pipeline.set(`item:${i}`, value);
      }
      await pipeline.exec();
    }
    return await client.dbsize();
  } finally {
    client.disconnect();
  }
}

export async function inventoryFor(
  root: string,
  servers: Awaited<ReturnType<typeof createSandbox>>,
): Promise<string> {
  const host = (entry: SandboxServer) => ({
    redis: { host: entry.host, port: entry.port },
    transport: "local",
    dir: entry.dir,
    dbfilename: "dump.rdb",
    start: `redis-server ${entry.configFile}`,
    config: entry.configFile,
  });
  const inventory = {
    clusters: {
      demo: {
        approvers: [],
        channels: [],
        discovery: {
          url: `redis://${servers.config.host}:${servers.config.port}/0`,
          key: "config:redis:demo",
        },
        hosts: {
          "machine-a": host(servers.a),
          "machine-b": host(servers.b),
          "machine-c": host(servers.c),
        },
      },
    },
  };
  const path = join(root, "inventory.yml");
  await writeFile(path, stringify(inventory));
  return path;
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}
