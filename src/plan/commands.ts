import { redisCommandText } from "../redis/command-text.js";
import type { RedisArg } from "../redis/node.js";
import { inventoryCommand, type ShellCommand, sh } from "../remote/shell.js";

/**
 * The remote shell commands and Redis commands each step runs. Steps execute exactly these,
 * and plans display exactly these, so what approvers read is what runs.
 */

export function partialPath(targetPath: string, runId: string): string {
  return `${targetPath}.${runId}.partial`;
}

/** Where an existing file is kept when the failover needs its name. */
export function asidePath(path: string, runId: string): string {
  return `${path}.before-${runId}`;
}

export const remote = {
  sha256(path: string): ShellCommand {
    return sh`sha256sum -- ${path}`;
  },
  sizeAndSha256(path: string): ShellCommand {
    return sh`wc -c < ${path} && sha256sum -- ${path}`;
  },
  /** Keeps an existing file under `aside` (never overwriting one), then moves `from` into place. */
  install(from: string, to: string, aside: string): ShellCommand {
    return sh`{ if [ -e ${to} ]; then test ! -e ${aside} && mv -- ${to} ${aside}; fi; } && mv -f -- ${from} ${to}`;
  },
  read(path: string): ShellCommand {
    return sh`cat -- ${path}`;
  },
  write(path: string): ShellCommand {
    return sh`cat > ${path}`;
  },
  checkRdb(path: string): ShellCommand {
    return sh`redis-check-rdb ${path}`;
  },
  remove(path: string): ShellCommand {
    return sh`rm -f -- ${path}`;
  },
  /** Renames only if the source exists; fails rather than overwrite an existing destination. */
  moveAsideIfPresent(path: string, aside: string): ShellCommand {
    return sh`if [ -e ${path} ]; then test ! -e ${aside} && mv -- ${path} ${aside}; fi`;
  },
  /** Switches `appendonly yes` off in redis.conf, keeping the original beside it. */
  disableAof(configPath: string, backupSuffix: string): ShellCommand {
    return sh`sed -i${backupSuffix} -E 's/^[[:space:]]*appendonly[[:space:]]+("|'"'"')?yes("|'"'"')?[[:space:]]*$/appendonly no/I' -- ${configPath}`;
  },
  readConfig(configPath: string): ShellCommand {
    return sh`cat -- ${configPath}`;
  },
  start(command: string): ShellCommand {
    return inventoryCommand(command);
  },
} as const;

export type RedisCommand = [string, ...RedisArg[]];

export const redisCommands = {
  bgsave: ["BGSAVE"] as RedisCommand,
  save: ["SAVE"] as RedisCommand,
  lastsave: ["LASTSAVE"] as RedisCommand,
  configRewrite: ["CONFIG", "REWRITE"] as RedisCommand,
  promote: ["REPLICAOF", "NO", "ONE"] as RedisCommand,
  replicaOf(host: string, port: number): RedisCommand {
    return ["REPLICAOF", host, port];
  },
  enableAof: ["CONFIG", "SET", "appendonly", "yes"] as RedisCommand,
  failoverTo(ip: string, port: number, timeoutMs: number): RedisCommand {
    return ["FAILOVER", "TO", ip, port, "TIMEOUT", timeoutMs];
  },
  /** Freezes writes and reads the offset in one MULTI, so no write slips in between. */
  switchoverFreeze(method: "client-pause" | "refuse-writes", timeoutMs: number): RedisCommand[] {
    return method === "client-pause"
      ? [
          ["CLIENT", "PAUSE", timeoutMs, "WRITE"],
          ["INFO", "replication"],
        ]
      : [
          // No replica count can reach this, so every write is refused with NOREPLICAS.
          ["CONFIG", "SET", "min-replicas-to-write", "2147483647"],
          ["CONFIG", "SET", "min-replicas-max-lag", "2147483647"],
          ["INFO", "replication"],
        ];
  },
  switchoverRestore(
    method: "client-pause" | "refuse-writes",
    restore: { minReplicasToWrite: number; minReplicasMaxLag: number } = {
      minReplicasToWrite: 0,
      minReplicasMaxLag: 10,
    },
  ): RedisCommand[] {
    return method === "client-pause"
      ? [["CLIENT", "UNPAUSE"]]
      : [
          ["CONFIG", "SET", "min-replicas-to-write", restore.minReplicasToWrite],
          ["CONFIG", "SET", "min-replicas-max-lag", restore.minReplicasMaxLag],
        ];
  },
  killNormalClients: ["CLIENT", "KILL", "TYPE", "normal"] as RedisCommand,
  set(key: string, value: string): RedisCommand {
    return ["SET", key, value];
  },
  publish(channel: string, message: string): RedisCommand {
    return ["PUBLISH", channel, message];
  },
};

/** "[machine-b] REPLICAOF 10.0.0.13 6379" */
export function showRedis(host: string, command: RedisCommand): string {
  return `[${host}] redis> ${redisCommandText(command)}`;
}

/** "[machine-b] $ sha256sum -- /var/lib/redis/dump.rdb" */
export function showShell(host: string, command: ShellCommand): string {
  return `[${host}] $ ${command}`;
}

/** The JSON clients read from the discovery key (the contract with client libraries). */
export function discoveryValue(host: string, port: number): string {
  return JSON.stringify({ host, port });
}
