import { checkRdbToolOf } from "./check-rdb.js";
import {
  asidePath,
  discoveryValue,
  partialPath,
  redisCommands,
  remote,
  sentinelCommands,
  sentinelName,
  showRedis,
  showShell,
} from "./commands.js";
import type { PlannedStep, StepSpec } from "./types.js";

type Description = Omit<PlannedStep, "index" | "spec">;

/** The commands that freeze writes, sent together in one MULTI/EXEC. */
function freezeCommands(spec: Extract<StepSpec, { kind: "switchover" }>): string[] {
  if (spec.method === "failover-command") return [];
  return redisCommands
    .switchoverFreeze(spec.method, spec.pauseMs ?? spec.timeoutMs)
    .map((command) => showRedis(spec.master.name, command));
}

/** Title, host, exact commands and risk of a step, for the plan approvers read. */
export function describeStep(spec: StepSpec, runId: string): Description {
  switch (spec.kind) {
    case "recheck":
      return {
        title: `Re-check the topology: ${spec.master.name} must still be ${spec.expectMaster}`,
        commands: [
          ...[spec.master, ...spec.mustAnswer.map((entry) => entry.ref), ...spec.mustBeSilent].map(
            (ref) => `[${ref.name}] redis> ROLE / INFO`,
          ),
        ],
      };
    case "snapshot":
      return {
        title: `Take a fresh snapshot on ${spec.host.name}`,
        host: spec.host.name,
        commands: [
          showRedis(spec.host.name, ["LASTSAVE"]),
          showRedis(spec.host.name, redisCommands.bgsave),
          `[${spec.host.name}] wait for INFO persistence: rdb_bgsave_in_progress:0, rdb_last_bgsave_status:ok, LASTSAVE advanced`,
          ...(spec.fallbackToSave
            ? [`${showRedis(spec.host.name, redisCommands.save)}   (only if BGSAVE cannot run)`]
            : []),
          showRedis(spec.host.name, ["INFO", "keyspace"]),
        ],
      };
    case "copy-rdb": {
      const partial = partialPath(spec.targetPath, runId);
      const checker = checkRdbToolOf(spec);
      const receive = remote.receiveVerified(
        partial,
        spec.targetPath,
        asidePath(spec.targetPath, runId),
        checker ?? false,
        spec.thenStart === undefined ? undefined : remote.start(spec.thenStart),
      );
      const checks = `${checker ? ` and ${checker} passed` : ""}${spec.thenStart === undefined ? "" : `, and Redis does not answer on ${spec.to.name}; then, only after install, the same command starts Redis there`}`;
      const commands = spec.direct
        ? [
            `${showShell(spec.from.name, remote.sendDirect(spec.sourcePath, spec.direct, receive))}   (copy: direct: ${spec.from.name} streams to ${spec.to.name} over ssh with ${spec.from.name}'s key for it and ${spec.to.name}'s host key pinned; ${spec.to.name} runs the quoted command, and ${spec.from.name} forwards the bot's "install" only when sizes and SHA-256 agree on ${spec.from.name} and ${spec.to.name}${checks})`,
          ]
        : [
            `${showShell(spec.from.name, remote.sendHashed(spec.sourcePath))}   (stdout relayed through the bot, SHA-256 in flight, to:)`,
            `${showShell(spec.to.name, receive)}   (the bot sends "install" only when sizes and SHA-256 agree on ${spec.from.name}, in flight and on ${spec.to.name}${checks})`,
          ];
      if (spec.thenStart !== undefined) {
        commands.push(
          `[${spec.to.name}] redis> PING   (before the bot sends "install": must fail, Redis must not be running yet)`,
          `[${spec.to.name}] … then, only after install, ${spec.thenStart}   (the start command, inside the command above: one round trip fewer)`,
        );
      }
      return {
        title: `Copy the snapshot from ${spec.from.name} to ${spec.to.name}`,
        host: spec.to.name,
        commands,
        risk: `${spec.from.name} only reads; an existing ${spec.targetPath} on ${spec.to.name} is kept as ${asidePath(spec.targetPath, runId)}.`,
      };
    }
    case "prepare-spare":
      return {
        title: `Prepare ${spec.host.name} to start from the snapshot`,
        host: spec.host.name,
        commands: [
          showShell(
            spec.host.name,
            remote.prepareSpare(
              spec.moveAside.map((path) => ({ path, aside: asidePath(path, runId) })),
              spec.disableAofIn
                ? { configPath: spec.disableAofIn, backupSuffix: `.before-${runId}` }
                : undefined,
              spec.disableAofIn,
            ),
          ),
        ],
        risk: "Nothing is deleted: files that would be loaded instead of the snapshot are renamed, not removed.",
      };
    case "start-redis":
      return {
        title: `Start Redis on ${spec.host.name}`,
        host: spec.host.name,
        commands: [
          ...(spec.startedByCopy
            ? [
                `[${spec.host.name}] redis> PING   (in the copy step, before the bot sends "install": must fail, Redis must not be running yet)`,
                `[${spec.host.name}] $ ${spec.command}   (run by the copy step's command on ${spec.host.name} right after the install; this step runs it itself only if that did not happen, e.g. on a resumed run)`,
              ]
            : [
                `[${spec.host.name}] redis> PING   (must fail: Redis must not be running yet)`,
                showShell(spec.host.name, remote.start(spec.command)),
              ]),
          `[${spec.host.name}] wait for INFO: loading:0, role:master, ${
            spec.expectKeys === "snapshot"
              ? "key count equal to the snapshot's"
              : "an empty dataset"
          }`,
        ],
      };
    case "enable-aof":
      return {
        title: `Turn the append-only file back on on ${spec.host.name}`,
        host: spec.host.name,
        commands: [
          showRedis(spec.host.name, redisCommands.enableAof),
          `[${spec.host.name}] wait for INFO persistence: aof_rewrite_in_progress:0, aof_last_bgrewrite_status:ok`,
          showRedis(spec.host.name, redisCommands.configRewrite),
        ],
      };
    case "promote":
      return {
        title: `Promote ${spec.host.name} to master`,
        host: spec.host.name,
        commands: [
          showRedis(spec.host.name, redisCommands.promote),
          `[${spec.host.name}] wait for ROLE: master`,
          showRedis(spec.host.name, redisCommands.configRewrite),
        ],
      };
    case "replicate":
      return {
        title: `Make ${spec.replica.name} a replica of ${spec.master.name}`,
        host: spec.replica.name,
        commands: [
          showRedis(spec.replica.name, redisCommands.replicaOf(spec.master.host, spec.master.port)),
          `[${spec.replica.name}] wait for INFO replication: master_link_status:up, offset caught up with ${spec.master.name}`,
          showRedis(spec.replica.name, redisCommands.configRewrite),
        ],
        risk: `${spec.replica.name} discards its own dataset and loads ${spec.master.name}'s.`,
      };
    case "switchover":
      return {
        title: `Hand the master role from ${spec.master.name} to ${spec.target.name} without losing writes`,
        host: spec.master.name,
        commands:
          spec.method === "failover-command"
            ? [
                showRedis(
                  spec.master.name,
                  redisCommands.failoverTo(
                    spec.targetAnnounced.ip,
                    spec.targetAnnounced.port,
                    spec.timeoutMs,
                  ),
                ),
                `[${spec.master.name}] wait for INFO replication: master_failover_state:no-failover, role:slave of ${spec.target.name}`,
                showRedis(spec.master.name, redisCommands.configRewrite),
                showRedis(spec.target.name, redisCommands.configRewrite),
              ]
            : [
                ...freezeCommands(spec),
                `[${spec.target.name}] wait for INFO replication: slave_repl_offset = the frozen master_repl_offset`,
                showRedis(spec.target.name, redisCommands.promote),
                showRedis(
                  spec.master.name,
                  redisCommands.replicaOf(spec.target.host, spec.target.port),
                ),
                ...redisCommands
                  .switchoverRestore(spec.method, spec.restoreConfig)
                  .map((command) => showRedis(spec.master.name, command)),
                showRedis(spec.master.name, redisCommands.configRewrite),
                showRedis(spec.target.name, redisCommands.configRewrite),
              ],
        risk: `Writes to ${spec.master.name} wait (at most ${spec.timeoutMs} ms) while ${spec.target.name} catches up; if it cannot, nothing changes.`,
      };
    case "sentinel-failover": {
      const first = spec.sentinels[0] ?? { host: "?", port: 0 };
      const pause = spec.pauseMs
        ? [
            showRedis(spec.oldMaster.name, ["CLIENT", "PAUSE", spec.pauseMs, "WRITE"]),
            `[${spec.target.name}] wait for INFO replication: slave_repl_offset = ${spec.oldMaster.name}'s frozen master_repl_offset`,
          ]
        : [];
      return {
        title: `Fail over through Sentinel: ${spec.target.name} becomes the master of ${spec.masterName}`,
        host: spec.target.name,
        commands: [
          ...spec.sentinels.map((sentinel) =>
            showRedis(sentinelName(sentinel), sentinelCommands.masterAddress(spec.masterName)),
          ),
          `[${sentinelName(first)}] redis> SENTINEL REPLICAS ${spec.masterName}   (Sentinel's pick must be ${spec.target.name}: lowest replica-priority, then largest offset)`,
          ...pause,
          `${showRedis(sentinelName(first), sentinelCommands.failover(spec.masterName))}   (on the first Sentinel that answers and names ${spec.oldMaster.name})`,
          `wait until ${spec.quorum} of ${spec.sentinels.length} Sentinels answer GET-MASTER-ADDR-BY-NAME ${spec.targetAnnounced.host} ${spec.targetAnnounced.port} and [${spec.target.name}] ROLE is master (at most ${spec.timeoutMs} ms)`,
          ...(spec.pauseMs
            ? [
                `${showRedis(spec.oldMaster.name, redisCommands.replicaOf(spec.target.host, spec.target.port))}   (if Sentinel has not yet made it a replica)`,
                showRedis(spec.oldMaster.name, ["CLIENT", "UNPAUSE"]),
              ]
            : []),
        ],
        risk: spec.pauseMs
          ? `Writes to ${spec.oldMaster.name} wait while ${spec.target.name} catches up and Sentinel switches (at most ${spec.pauseMs} ms); if the failover does not happen, writes resume on ${spec.oldMaster.name} and nothing changes.`
          : `Sentinel also repoints the other replicas (and the old master when it returns); the steps after check that they follow ${spec.target.name}.`,
      };
    }
    case "sentinel-remove":
      return {
        title: `Take ${spec.masterName} out of Sentinel's hands for the run`,
        commands: spec.sentinels.flatMap((sentinel) => [
          `[${sentinelName(sentinel)}] redis> SENTINEL MASTER ${spec.masterName}   (settings as planned: quorum ${sentinel.settings.quorum}, down-after ${sentinel.settings.downAfterMs} ms, failover-timeout ${sentinel.settings.failoverTimeoutMs} ms, parallel-syncs ${sentinel.settings.parallelSyncs})`,
          showRedis(sentinelName(sentinel), sentinelCommands.remove(spec.masterName)),
        ]),
        risk: `Until the Sentinel step at the end runs, no Sentinel watches ${spec.masterName}; if the run stops midway, its report gives the commands that put them back.`,
      };
    case "sentinel-monitor":
      return {
        title: `Hand ${spec.masterName} back to Sentinel: watch ${spec.newMaster.name} with the same settings`,
        host: spec.newMaster.name,
        commands: [
          ...spec.sentinels.flatMap((sentinel) => [
            showRedis(
              sentinelName(sentinel),
              sentinelCommands.monitor(
                spec.masterName,
                spec.newMaster.host,
                spec.newMaster.port,
                sentinel.settings.quorum,
              ),
            ),
            showRedis(
              sentinelName(sentinel),
              sentinelCommands.set(spec.masterName, sentinel.settings),
            ),
            ...(spec.authPassEnv
              ? [
                  `[${sentinelName(sentinel)}] redis> SENTINEL SET ${spec.masterName} auth-pass <$${spec.authPassEnv}>`,
                ]
              : []),
            ...(spec.authPassEnv && spec.authUserEnv
              ? [
                  `[${sentinelName(sentinel)}] redis> SENTINEL SET ${spec.masterName} auth-user <$${spec.authUserEnv}>`,
                ]
              : []),
          ]),
          `wait until every Sentinel answers GET-MASTER-ADDR-BY-NAME ${spec.newMaster.host} ${spec.newMaster.port} and [${spec.newMaster.name}] ROLE is master (at most ${spec.timeoutMs} ms)`,
        ],
      };
    case "fence":
      return {
        title: `Fence the old master ${spec.host.name}`,
        host: spec.host.name,
        commands: [
          `[${spec.host.name}] redis> PING   (if it answers:)`,
          `[${spec.host.name}] redis> INFO   (its replication ID and offset, compared with ${spec.newMaster.name}'s)`,
          `[${spec.host.name}] redis> BGSAVE SCHEDULE   (only if it holds writes ${spec.newMaster.name} lacks: the save is kept as <dir>/<dbfilename>.before-${runId}, by ln over SSH, or by CONFIG SET dbfilename around the save without SSH)`,
          showRedis(
            spec.host.name,
            redisCommands.replicaOf(spec.newMaster.host, spec.newMaster.port),
          ),
          showRedis(spec.host.name, redisCommands.configRewrite),
        ],
        risk: `If ${spec.host.name} is unreachable it cannot be fenced now: it must not come back as a master.`,
      };
    case "announce": {
      const value = discoveryValue(spec.newMaster.host, spec.newMaster.port);
      return {
        title: `Tell clients the new master is ${spec.newMaster.name}`,
        commands: [
          ...(spec.discovery
            ? [
                showRedis("config", redisCommands.set(spec.discovery.key, value)),
                showRedis("config", redisCommands.publish(spec.discovery.key, value)),
              ]
            : ["(no discovery configured for this cluster: update client configuration by hand)"]),
          ...spec.reconnectClientsOn.map((ref) =>
            showRedis(ref.name, redisCommands.killNormalClients),
          ),
        ],
      };
    }
  }
}
