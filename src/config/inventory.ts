import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { FailoverError } from "../errors.js";
import {
  type ClusterFile,
  type CopySettings,
  type HostFile,
  type InventoryFile,
  inventorySchema,
  type SshSettings,
  type Timeouts,
  type TlsSettings,
} from "./inventory-schema.js";

export type { Timeouts, TlsSettings };

export interface SshConfig {
  host: string;
  port: number;
  user: string;
  privateKeyFile: string;
  privateKeyPassphraseEnv?: string;
  knownHostsFile?: string;
  hostKey?: string;
  connectTimeoutMs: number;
}

export interface HostConfig {
  name: string;
  redis: { host: string; port: number };
  /** How the bot runs commands on this machine; "none" when the inventory gives no SSH access. */
  transport: { kind: "ssh"; ssh: SshConfig } | { kind: "local" } | { kind: "none" };
  dir?: string;
  dbfilename: string;
  start?: string;
  config?: string;
}

export interface SentinelConfig {
  hosts: Array<{ host: string; port: number }>;
  masterName: string;
  passwordEnv?: string;
  usernameEnv?: string;
  /** Already defaulted to the cluster's tls: when the sentinel: key gives none. */
  tls?: TlsSettings;
  agreeTimeoutMs: number;
}

export interface ClusterConfig {
  name: string;
  approvers: string[];
  channels: string[];
  redisPasswordEnv?: string;
  redisUsernameEnv?: string;
  tls?: TlsSettings;
  discovery?: { url: string; key: string; passwordEnv?: string };
  snapshot: { fallbackToSave: boolean };
  /** How the snapshot travels from the replica to the spare (see the inventory schema); absent: relay. */
  copy?: CopySettings;
  timeouts: Timeouts;
  sentinel?: SentinelConfig;
  hosts: HostConfig[];
}

export interface Inventory {
  path: string;
  clusters: ReadonlyMap<string, ClusterConfig>;
}

export const DEFAULT_INVENTORY_FILE = "./inventory.yml";

/** How the CLI is told where the inventory is; the bot says INVENTORY_FILE only. */
const CLI_INVENTORY_HINT = "Pass --inventory FILE or set INVENTORY_FILE";

/** Reads and validates an inventory file; every error names the file and the bad field. */
export async function loadInventory(
  path: string,
  options: { howToPoint?: string } = {},
): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error);
    throw new FailoverError(
      "CONFIG_INVALID",
      `cannot read inventory ${path}: ${reason}. ${options.howToPoint ?? CLI_INVENTORY_HINT} (see inventory.example.yml).`,
    );
  }
  return parseInventory(text, path);
}

export function parseInventory(text: string, path: string): Inventory {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const errors = document.errors.map((error) => error.message);
    const listed = errors.length === 1 ? ` ${errors[0]}` : `\n  - ${errors.join("\n  - ")}`;
    throw new FailoverError("CONFIG_INVALID", `inventory ${path} is not valid YAML:${listed}`);
  }
  const parsed = inventorySchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    throw new FailoverError(
      "CONFIG_INVALID",
      `inventory ${path} is invalid:\n${formatIssues(parsed.error.issues)}`,
    );
  }
  return resolveInventory(parsed.data, path);
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const field = issue.path.map(String).join(".") || "(top level)";
      return `  - ${field}: ${issue.message}`;
    })
    .join("\n");
}

function resolveInventory(file: InventoryFile, path: string): Inventory {
  const baseDir = dirname(resolve(path));
  const problems: string[] = [];
  const clusters = new Map<string, ClusterConfig>();
  for (const [name, cluster] of Object.entries(file.clusters)) {
    clusters.set(name, resolveCluster(name, cluster, file.ssh, baseDir, problems));
  }
  if (clusters.size === 0) problems.push("  - clusters: define at least one cluster");
  if (problems.length > 0) {
    throw new FailoverError(
      "CONFIG_INVALID",
      `inventory ${path} is invalid:\n${problems.join("\n")}`,
    );
  }
  return { path, clusters };
}

function resolveCluster(
  name: string,
  cluster: ClusterFile,
  sshDefaults: SshSettings,
  baseDir: string,
  problems: string[],
): ClusterConfig {
  const seenEndpoints = new Map<string, string>();
  const hosts = Object.entries(cluster.hosts).map(([hostName, host]) => {
    const field = `clusters.${name}.hosts.${hostName}`;
    const endpoint = `${host.redis.host}:${host.redis.port}`;
    const other = seenEndpoints.get(endpoint);
    if (other) problems.push(`  - ${field}.redis: ${endpoint} is also used by host ${other}`);
    seenEndpoints.set(endpoint, hostName);
    return resolveHost(hostName, host, sshDefaults, baseDir, field, problems);
  });
  const resolved: ClusterConfig = {
    name,
    approvers: cluster.approvers,
    channels: cluster.channels,
    snapshot: cluster.snapshot,
    copy: cluster.copy,
    timeouts: cluster.timeouts,
    hosts,
  };
  if (cluster.redisPasswordEnv) resolved.redisPasswordEnv = cluster.redisPasswordEnv;
  if (cluster.redisUsernameEnv) resolved.redisUsernameEnv = cluster.redisUsernameEnv;
  if (cluster.tls !== undefined) resolved.tls = resolveTls(cluster.tls, baseDir);
  if (cluster.discovery) {
    resolved.discovery = {
      url: cluster.discovery.url,
      key: cluster.discovery.key ?? `config:redis:${name}`,
    };
    if (cluster.discovery.passwordEnv)
      resolved.discovery.passwordEnv = cluster.discovery.passwordEnv;
  }
  if (cluster.sentinel) {
    const { passwordEnv, usernameEnv, tls, ...rest } = cluster.sentinel;
    const sentinel: SentinelConfig = { ...rest, hosts: rest.hosts.map((entry) => ({ ...entry })) };
    if (passwordEnv) sentinel.passwordEnv = passwordEnv;
    if (usernameEnv) sentinel.usernameEnv = usernameEnv;
    const sentinelTls = tls ?? cluster.tls;
    if (sentinelTls !== undefined) sentinel.tls = resolveTls(sentinelTls, baseDir);
    for (const [i, entry] of sentinel.hosts.entries()) {
      const clash = hosts.find(
        (host) => host.redis.host === entry.host && host.redis.port === entry.port,
      );
      if (clash)
        problems.push(
          `  - clusters.${name}.sentinel.hosts.${i}: ${entry.host}:${entry.port} is host ${clash.name}'s Redis, not a Sentinel`,
        );
    }
    resolved.sentinel = sentinel;
  }
  return resolved;
}

function resolveHost(
  name: string,
  host: HostFile,
  sshDefaults: SshSettings,
  baseDir: string,
  field: string,
  problems: string[],
): HostConfig {
  const resolved: HostConfig = {
    name,
    redis: host.redis,
    transport: { kind: "none" },
    dbfilename: host.dbfilename,
  };
  if (host.dir) resolved.dir = host.dir;
  if (host.start) resolved.start = host.start;
  if (host.config) resolved.config = host.config;

  if (host.transport === "local") {
    if (host.ssh) problems.push(`  - ${field}.transport: "local" and ssh cannot both be set`);
    resolved.transport = { kind: "local" };
  } else if (host.transport === "ssh" && !host.ssh) {
    problems.push(
      `  - ${field}.ssh: transport is "ssh" but the host has no ssh: settings (at least ssh.host)`,
    );
  } else if (host.ssh) {
    const merged = { ...sshDefaults, ...host.ssh };
    const user = merged.user;
    const privateKeyFile = merged.privateKeyFile;
    if (!user)
      problems.push(
        `  - ${field}.ssh.user: required (set it here or in the top-level ssh: defaults)`,
      );
    if (!privateKeyFile) {
      problems.push(
        `  - ${field}.ssh.privateKeyFile: required (set it here or in the top-level ssh: defaults)`,
      );
    }
    if (!merged.knownHostsFile && !merged.hostKey) {
      problems.push(
        `  - ${field}.ssh: host keys are always verified; set knownHostsFile or hostKey ("SHA256:...") here or in the top-level ssh: defaults`,
      );
    }
    const ssh: SshConfig = {
      host: merged.host,
      port: merged.port ?? 22,
      user: user ?? "",
      privateKeyFile: expandPath(privateKeyFile ?? "", baseDir),
      connectTimeoutMs: merged.connectTimeoutMs ?? 10_000,
    };
    if (merged.privateKeyPassphraseEnv)
      ssh.privateKeyPassphraseEnv = merged.privateKeyPassphraseEnv;
    // A host-level pinned key wins over a default known_hosts file, and vice versa.
    if (host.ssh.hostKey) ssh.hostKey = host.ssh.hostKey;
    else if (host.ssh.knownHostsFile)
      ssh.knownHostsFile = expandPath(host.ssh.knownHostsFile, baseDir);
    else if (merged.hostKey) ssh.hostKey = merged.hostKey;
    else if (merged.knownHostsFile) ssh.knownHostsFile = expandPath(merged.knownHostsFile, baseDir);
    resolved.transport = { kind: "ssh", ssh };
  }
  return resolved;
}

function resolveTls(tls: TlsSettings, baseDir: string): TlsSettings {
  if (typeof tls === "boolean" || !tls.caFile) return tls;
  return { ...tls, caFile: expandPath(tls.caFile, baseDir) };
}

/** `~/x` is relative to the home directory; other relative paths to the inventory file's folder. */
export function expandPath(path: string, baseDir: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

export function findCluster(inventory: Inventory, name: string): ClusterConfig {
  const cluster = inventory.clusters.get(name);
  if (!cluster) {
    const known = [...inventory.clusters.keys()].join(", ");
    throw new FailoverError(
      "UNKNOWN_CLUSTER",
      `unknown cluster "${name}"; the inventory ${inventory.path} defines: ${known}`,
    );
  }
  return cluster;
}

export function findHost(cluster: ClusterConfig, name: string): HostConfig {
  const host = cluster.hosts.find((candidate) => candidate.name === name);
  if (!host) {
    const known = cluster.hosts.map((candidate) => candidate.name).join(", ");
    throw new FailoverError(
      "UNKNOWN_HOST",
      `cluster ${cluster.name} has no host "${name}"; its hosts are: ${known}`,
    );
  }
  return host;
}
