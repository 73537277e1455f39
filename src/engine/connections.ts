import type { ClusterConfig, HostConfig } from "../config/inventory.js";
import { FailoverError } from "../errors.js";
import type { RedisNode } from "../redis/node.js";
import type { RemoteHost } from "../remote/types.js";

/** Builds the clients for one host; production wires ioredis and ssh2, the demo a local shell. */
export interface ConnectionFactory {
  redis(host: HostConfig, cluster: ClusterConfig): RedisNode;
  remote(host: HostConfig, cluster: ClusterConfig): RemoteHost;
  /** The config Redis that holds the cluster's discovery key. */
  discovery(cluster: ClusterConfig): RedisNode;
  /** One of the cluster's declared Sentinels (inventory `sentinel.hosts`). */
  sentinel?(endpoint: { host: string; port: number }, cluster: ClusterConfig): RedisNode;
  /** The servers' credentials, for Sentinel's auth-pass/auth-user when it is told to watch a master. */
  serverCredentials?(cluster: ClusterConfig): { password?: string; username?: string };
}

/** One Redis client and one remote session per host for the life of a run, closed together. */
export class Connections {
  readonly #cluster: ClusterConfig;
  readonly #factory: ConnectionFactory;
  readonly #redis = new Map<string, RedisNode>();
  readonly #remote = new Map<string, RemoteHost>();
  #discovery: RedisNode | undefined;
  readonly #sentinels = new Map<string, RedisNode>();

  constructor(cluster: ClusterConfig, factory: ConnectionFactory) {
    this.#cluster = cluster;
    this.#factory = factory;
  }

  redis(name: string): RedisNode {
    let node = this.#redis.get(name);
    if (!node) {
      node = this.#factory.redis(this.#host(name), this.#cluster);
      this.#redis.set(name, node);
    }
    return node;
  }

  remote(name: string): RemoteHost {
    let remote = this.#remote.get(name);
    if (!remote) {
      const host = this.#host(name);
      if (host.transport.kind === "none") {
        throw new FailoverError(
          "CONFIG_INVALID",
          `the inventory gives no ssh: settings for ${name}, so the bot cannot run commands there`,
        );
      }
      remote = this.#factory.remote(host, this.#cluster);
      this.#remote.set(name, remote);
    }
    return remote;
  }

  discovery(): RedisNode {
    this.#discovery ??= this.#factory.discovery(this.#cluster);
    return this.#discovery;
  }

  /** A client for the declared Sentinel at `endpoint`, kept for the life of the connections. */
  sentinel(endpoint: { host: string; port: number }): RedisNode {
    const key = `${endpoint.host}:${endpoint.port}`;
    let node = this.#sentinels.get(key);
    if (!node) {
      if (!this.#cluster.sentinel || !this.#factory.sentinel) {
        throw new FailoverError(
          "CONFIG_INVALID",
          `cluster ${this.#cluster.name} declares no Sentinels (sentinel: in the inventory)`,
        );
      }
      node = this.#factory.sentinel(endpoint, this.#cluster);
      this.#sentinels.set(key, node);
    }
    return node;
  }

  serverCredentials(): { password?: string; username?: string } {
    return this.#factory.serverCredentials?.(this.#cluster) ?? {};
  }

  async closeAll(): Promise<void> {
    const closing = [
      ...[...this.#sentinels.values()].map((node) => node.close()),
      ...[...this.#redis.values()].map((node) => node.close()),
      ...[...this.#remote.values()].map((remote) => remote.close()),
      ...(this.#discovery ? [this.#discovery.close()] : []),
    ];
    this.#redis.clear();
    this.#remote.clear();
    this.#sentinels.clear();
    this.#discovery = undefined;
    await Promise.allSettled(closing);
  }

  #host(name: string): HostConfig {
    const host = this.#cluster.hosts.find((candidate) => candidate.name === name);
    if (!host)
      throw new FailoverError(
        "UNKNOWN_HOST",
        `cluster ${this.#cluster.name} has no host "${name}"`,
      );
    return host;
  }
}
