import { redisCommandText } from "../redis/command-text.js";
import type { RedisArg } from "../redis/node.js";
import { inventoryCommand, type ShellCommand, sh } from "../remote/shell.js";
import type { CheckRdbTool } from "../topology/types.js";
import type { DirectCopy } from "./types.js";

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
  /**
   * The copy's source side, reading the file once: "size N" on stderr first, then the file on
   * stdout, and the SHA-256 of exactly what was read on stderr at the end.
   */
  sendHashed(path: string): ShellCommand {
    // tee opens /dev/fd/4, a pipe the shell made; stdout may be a socket, which cannot be opened.
    return sh`size=$(wc -c < ${path}) && echo "size $size" >&2 && { { tee -- /dev/fd/4 < ${path}; } 4>&1 >&3 | sha256sum >&2; } 3>&1`;
  },
  /**
   * `copy: direct`: the source reads the file once (size and SHA-256 on stderr, as sendHashed)
   * and streams "<size>\n", the bytes, then the verdict line it reads from its own stdin (the
   * bot's) to `receive` on the target, over OpenSSH run here. The target's host key must be in
   * `knownHostsFile` (StrictHostKeyChecking=yes: never trusted on first use); the target's report
   * comes back on stdout, then "ssh-exit N" (so the bot knows when the target is gone and
   * ends the source's stdin, which would otherwise wait for a verdict).
   */
  sendDirect(path: string, to: DirectCopy, receive: ShellCommand): ShellCommand {
    const { identityFile, knownHostsFile } = to;
    return [
      sh`if [ ! -r ${identityFile} ]; then echo "copy: direct: the identity file" ${identityFile} "is missing or unreadable here" >&2; exit 3; fi`,
      sh`if [ ! -r ${knownHostsFile} ]; then echo "copy: direct: the known_hosts file" ${knownHostsFile} "is missing or unreadable here" >&2; exit 3; fi`,
      sh`size=$(wc -c < ${path}) && echo "size $size" >&2 && { echo "$size"; { { tee -- /dev/fd/4 < ${path}; } 4>&1 >&3 | sha256sum >&2; } 3>&1; IFS= read -r verdict; echo "$verdict"; } | { ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=${knownHostsFile} -i ${identityFile} -p ${to.port} -l ${to.user} -- ${to.host} ${receive}; echo "ssh-exit $?"; }`,
    ].join("; ") as ShellCommand;
  },
  /**
   * The copy's target side, one command for the whole copy. Its stdin carries "<size>\n", then
   * exactly that many bytes, then the bot's verdict line. The bytes go to \`partial\` while
   * sha256sum (and the \`checkRdb\` tool, redis-check-rdb or valkey-check-rdb) read them on
   * the way, so nothing reads the file back. It reports "tee", "check" and "size" lines and
   * the hash on stdout, then waits for the verdict: "install" gives the copy its real name
   * (keeping an existing file aside), anything else (or the bot gone) removes the partial file.
   * With \`start\` (the host's start command), an installed copy is started by the same command,
   * reporting "start-exit <code>": one round trip fewer than a separate start.
   */
  receiveVerified(
    partial: string,
    target: string,
    aside: string,
    checkRdb: CheckRdbTool | false,
    start?: ShellCommand,
  ): ShellCommand {
    const tee = checkRdb ? sh`tee -- ${partial} /dev/fd/4` : sh`tee -- ${partial}`;
    const write = `{ head -c "$size" | ${tee}; echo "tee $?" >&3; } | sha256sum >&3`;
    const stream = checkRdb
      ? `{ { ${write}; } 4>&1 | { ${checkRdb} /dev/stdin >&2; echo "check $?" >&3; cat > /dev/null; }; } 3>&1`
      : `{ ${write}; } 3>&1`;
    return [
      `IFS= read -r size || exit 1`,
      stream,
      sh`echo "size $(wc -c < ${partial})"`,
      `IFS= read -r verdict`,
      `if [ "$verdict" = install ]; then ${remote.install(partial, target, aside)} && echo installed${
        start
          ? ` && { ( ${start}
) < /dev/null 2>&1; echo "start-exit $?"; }`
          : ""
      }; else ${remote.remove(partial)}; echo "not installed"; exit 1; fi`,
    ].join("; ") as ShellCommand;
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
  /**
   * Everything prepare-spare does on the spare, in one command that stops at the first
   * failure: each move aside reports "kept aside <index>", switching AOF off reports "aof off",
   * and the appendonly lines redis.conf then holds are printed for the check.
   */
  prepareSpare(
    moves: Array<{ path: string; aside: string }>,
    disableAof: { configPath: string; backupSuffix: string } | undefined,
    configToCheck: string | undefined,
  ): ShellCommand {
    const parts: string[] = moves.map(
      (move, index) =>
        `${remote.moveAsideIfPresent(move.path, move.aside)} && echo "kept aside ${index}"`,
    );
    if (disableAof) {
      parts.push(
        `${remote.disableAof(disableAof.configPath, disableAof.backupSuffix)} && echo "aof off"`,
      );
    }
    if (configToCheck) {
      parts.push(
        sh`{ grep -i -E '^[[:space:]]*appendonly[[:space:]]' -- ${configToCheck} || [ $? -eq 1 ]; }`,
      );
    }
    return parts.join(" && ") as ShellCommand;
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

export const sentinelCommands = {
  failover(masterName: string): RedisCommand {
    return ["SENTINEL", "FAILOVER", masterName];
  },
  masterAddress(masterName: string): RedisCommand {
    return ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName];
  },
  remove(masterName: string): RedisCommand {
    return ["SENTINEL", "REMOVE", masterName];
  },
  monitor(masterName: string, host: string, port: number, quorum: number): RedisCommand {
    return ["SENTINEL", "MONITOR", masterName, host, port, quorum];
  },
  /** The settings MONITOR does not take; auth-pass/auth-user are added by the step, never shown. */
  set(
    masterName: string,
    settings: {
      quorum: number;
      downAfterMs: number;
      failoverTimeoutMs: number;
      parallelSyncs: number;
    },
  ): RedisCommand {
    // quorum again: a Sentinel that already watched the new master kept its own.
    return [
      "SENTINEL",
      "SET",
      masterName,
      "quorum",
      settings.quorum,
      "down-after-milliseconds",
      settings.downAfterMs,
      "failover-timeout",
      settings.failoverTimeoutMs,
      "parallel-syncs",
      settings.parallelSyncs,
    ];
  },
};

/** "[sentinel 10.0.0.5:26379] redis> SENTINEL FAILOVER mymaster" */
export function sentinelName(sentinel: { host: string; port: number }): string {
  return `sentinel ${sentinel.host}:${sentinel.port}`;
}

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
