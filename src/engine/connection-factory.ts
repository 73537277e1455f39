import type { ClusterConfig, HostConfig } from "../config/inventory.js";
import { FailoverError } from "../errors.js";
import { IoRedisNode, type RedisNode } from "../redis/node.js";
import { LocalHost } from "../remote/local-host.js";
import { SshHost, type SshHostOptions } from "../remote/ssh-host.js";
import type { RemoteHost } from "../remote/types.js";
import type { Secrets } from "../secrets.js";
import type { ConnectionFactory } from "./connections.js";

/**
 * Production clients: ioredis with the cluster's credentials, ssh2 with verified host keys, or
 * a local shell for hosts marked `transport: local`. Secrets come from the environment only
 * and are registered for scrubbing as they are read.
 */
export function createConnectionFactory(
  env: NodeJS.ProcessEnv,
  secrets: Secrets,
): ConnectionFactory {
  return {
    redis(host: HostConfig, cluster: ClusterConfig): RedisNode {
      return new IoRedisNode({
        name: host.name,
        host: host.redis.host,
        port: host.redis.port,
        ...credentials(cluster, env, secrets),
        ...(cluster.tls ? { tls: cluster.tls } : {}),
        connectTimeoutMs: cluster.timeouts.connectMs,
        commandTimeoutMs: cluster.timeouts.commandMs,
      });
    },
    remote(host: HostConfig): RemoteHost {
      const transport = host.transport;
      if (transport.kind === "local") return new LocalHost(host.name);
      if (transport.kind === "none") {
        throw new FailoverError(
          "CONFIG_INVALID",
          `the inventory gives no ssh: settings for ${host.name}`,
        );
      }
      const ssh = transport.ssh;
      const options: SshHostOptions = {
        name: host.name,
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        privateKey: ssh.privateKeyFile,
        connectTimeoutMs: ssh.connectTimeoutMs,
      };
      const passphrase = secrets.fromEnv(env, ssh.privateKeyPassphraseEnv);
      if (ssh.privateKeyPassphraseEnv && passphrase === undefined) {
        throw new FailoverError(
          "CONFIG_INVALID",
          `the SSH key for ${host.name} needs a passphrase from the environment variable ${ssh.privateKeyPassphraseEnv}, which is not set`,
        );
      }
      if (passphrase !== undefined) options.passphrase = passphrase;
      if (ssh.knownHostsFile) options.knownHostsFile = ssh.knownHostsFile;
      if (ssh.hostKey) options.hostKey = ssh.hostKey;
      return new SshHost(options);
    },
    sentinel(endpoint, cluster: ClusterConfig): RedisNode {
      const sentinel = cluster.sentinel;
      if (!sentinel)
        throw new FailoverError("CONFIG_INVALID", `cluster ${cluster.name} declares no Sentinels`);
      const password = secrets.fromEnv(env, sentinel.passwordEnv);
      if (sentinel.passwordEnv && password === undefined) {
        throw new FailoverError(
          "CONFIG_INVALID",
          `cluster ${cluster.name}'s Sentinels take their password from the environment variable ${sentinel.passwordEnv}, which is not set`,
        );
      }
      const username = env[sentinel.usernameEnv ?? ""];
      return new IoRedisNode({
        name: `sentinel ${endpoint.host}:${endpoint.port}`,
        host: endpoint.host,
        port: endpoint.port,
        ...(password ? { password } : {}),
        ...(sentinel.usernameEnv && username ? { username } : {}),
        ...(sentinel.tls ? { tls: sentinel.tls } : {}),
        connectTimeoutMs: cluster.timeouts.connectMs,
        commandTimeoutMs: cluster.timeouts.commandMs,
      });
    },
    serverCredentials(cluster: ClusterConfig) {
      return credentials(cluster, env, secrets);
    },
    discovery(cluster: ClusterConfig): RedisNode {
      const discovery = cluster.discovery;
      if (!discovery)
        throw new FailoverError(
          "CONFIG_INVALID",
          `cluster ${cluster.name} has no discovery: settings`,
        );
      const url = new URL(discovery.url);
      const password =
        secrets.fromEnv(env, discovery.passwordEnv) ?? decodeURIComponent(url.password);
      secrets.add(password);
      const username = decodeURIComponent(url.username);
      const db = Number(url.pathname.replace(/^\//, "") || 0);
      return new IoRedisNode({
        name: "config",
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port || 6379),
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        ...(url.protocol === "rediss:" ? { tls: true } : {}),
        db,
        connectTimeoutMs: cluster.timeouts.connectMs,
        commandTimeoutMs: cluster.timeouts.commandMs,
      });
    },
  };
}

function credentials(cluster: ClusterConfig, env: NodeJS.ProcessEnv, secrets: Secrets) {
  const password = secrets.fromEnv(env, cluster.redisPasswordEnv);
  if (cluster.redisPasswordEnv && password === undefined) {
    throw new FailoverError(
      "CONFIG_INVALID",
      `cluster ${cluster.name} takes its Redis password from the environment variable ${cluster.redisPasswordEnv}, which is not set`,
    );
  }
  const username = env[cluster.redisUsernameEnv ?? ""];
  return {
    ...(password ? { password } : {}),
    ...(cluster.redisUsernameEnv && username ? { username } : {}),
  };
}
