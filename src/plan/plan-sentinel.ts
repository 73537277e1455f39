import type { ClusterConfig } from "../config/inventory.js";
import { sentinelPick } from "../redis/sentinel.js";
import type { NodeState, SentinelState, Topology } from "../topology/types.js";
import type { HostRef, Refusal, StepSpec } from "./types.js";

type Failover = Extract<StepSpec, { kind: "sentinel-failover" }>;
type Remove = Extract<StepSpec, { kind: "sentinel-remove" }>;
type Monitor = Extract<StepSpec, { kind: "sentinel-monitor" }>;

/**
 * More Sentinels watch the servers than the inventory declares: an undeclared one would fight
 * the change by its own view, so the bot refuses rather than act beside it.
 */
export function sentinelMismatch(
  declared: number,
  watched: readonly NodeState[],
): Refusal | undefined {
  const most = watched.reduce((max, node) => Math.max(max, node.sentinelSubscribers ?? 0), 0);
  if (most <= declared) return undefined;
  const where = watched.find((node) => node.sentinelSubscribers === most);
  return {
    reason: `${most} Sentinels watch ${where?.name ?? "the servers"} (subscribers of __sentinel__:hello) but the inventory declares ${declared}; an undeclared Sentinel would fight the change`,
    advice:
      "List every Sentinel that monitors this cluster under sentinel.hosts in the inventory, then plan again.",
  };
}

function named(state: SentinelState): string {
  return `Sentinel ${state.host}:${state.port}`;
}

/**
 * promote / switchover through Sentinel. The Sentinels must agree (a majority of those
 * declared) that the old master is the master, and Sentinel's own pick must be the planned
 * target: SENTINEL FAILOVER takes no target, so a different pick is refused, with advice,
 * rather than worked around by changing replica priorities behind the operator's back.
 */
export function sentinelFailoverStep(
  cluster: ClusterConfig,
  topology: Topology,
  oldMaster: HostRef,
  target: HostRef,
  pause: boolean,
): Failover | Refusal | undefined {
  const declared = cluster.sentinel;
  if (!declared) return undefined;
  const view = topology.sentinel;
  if (!view) return { reason: "the declared Sentinels were not read" };
  if (!view.agreed || view.agreed.hostName !== oldMaster.name) {
    return {
      reason: `the Sentinels do not agree that ${oldMaster.name} is ${declared.masterName}'s master: ${view.disagreements.join("; ") || "no quorum"}`,
      advice:
        "Run `status` to see each Sentinel's view; bring the Sentinels back or in line, then plan again.",
    };
  }
  const asked = view.sentinels.find(
    (sentinel) => sentinel.reachable && sentinel.master?.hostName === oldMaster.name,
  );
  const replicas = asked?.replicas ?? [];
  const listed = replicas.find((replica) => replica.hostName === target.name);
  if (!asked || !listed) {
    return {
      reason: `Sentinel does not list ${target.name} among ${declared.masterName}'s replicas (it lists: ${replicas.map((replica) => replica.hostName ?? `${replica.host}:${replica.port}`).join(", ") || "none"})`,
      advice: `Check ${target.name}'s replica-announce-ip/port and wait until the Sentinels have discovered it.`,
    };
  }
  const pick = sentinelPick(
    replicas.map((replica) => ({
      ip: replica.host,
      port: replica.port,
      flags: replica.flags,
      priority: replica.priority,
      offset: replica.offset,
      runId: replica.runId,
      linkDownMs: 0,
    })),
  );
  if (!pick || pick.ip !== listed.host || pick.port !== listed.port) {
    const pickName =
      replicas.find((replica) => replica.host === pick?.ip && replica.port === pick?.port)
        ?.hostName ?? (pick ? `${pick.ip}:${pick.port}` : "no replica");
    return {
      reason: `${named(asked)} would promote ${pickName} (priority ${pick?.priority ?? "-"}, offset ${pick?.offset ?? "-"}), not ${target.name} (priority ${listed.priority}, offset ${listed.offset}); SENTINEL FAILOVER cannot be told which replica to promote`,
      advice: `Promote ${pickName} instead (--replica ${pickName}), or make ${target.name} Sentinel's choice: CONFIG SET replica-priority on ${target.name} lower than ${pickName}'s (${pick?.priority ?? "?"}), wait ~10 s for the Sentinels to see it, and plan again.`,
    };
  }
  const step: Failover = {
    kind: "sentinel-failover",
    masterName: declared.masterName,
    sentinels: declared.hosts.map(({ host, port }) => ({ host, port })),
    quorum: view.quorum,
    oldMaster,
    oldAnnounced: { host: view.agreed.host, port: view.agreed.port },
    target,
    targetAnnounced: { host: listed.host, port: listed.port },
    timeoutMs: declared.agreeTimeoutMs,
  };
  // The pause outlasts the catch-up wait and the agreement wait, each bounded by timeoutMs.
  if (pause) step.pauseMs = 2 * declared.agreeTimeoutMs + 4 * cluster.timeouts.commandMs;
  return step;
}

/**
 * replace: every declared Sentinel must answer and watch the master, so that each can be
 * told to stop (REMOVE) and, at the end, to watch the new master with its own settings.
 */
export function sentinelHandBack(
  cluster: ClusterConfig,
  topology: Topology,
  oldMaster: HostRef,
  newMaster: HostRef,
): { remove: Remove; monitor: Monitor } | Refusal | undefined {
  const declared = cluster.sentinel;
  if (!declared) return undefined;
  const view = topology.sentinel;
  if (!view) return { reason: "the declared Sentinels were not read" };
  const sentinels: Remove["sentinels"] = [];
  for (const state of view.sentinels) {
    if (!state.reachable || !state.monitors || !state.master) {
      return {
        reason: `${named(state)} ${state.reachable ? `does not monitor ${declared.masterName}` : `does not answer (${state.error ?? "no reply"})`}; replace must take the master out of every Sentinel's hands and give it back with the same settings`,
        advice:
          "Bring that Sentinel back (or remove it from sentinel.hosts if it is gone for good), then plan again.",
      };
    }
    if (state.master.hostName !== oldMaster.name) {
      return {
        reason: `${named(state)} names ${state.master.hostName ?? `${state.master.host}:${state.master.port}`} as ${declared.masterName}'s master, not ${oldMaster.name}: Sentinel may already be failing over`,
        advice:
          "Run `status`; if Sentinel already promoted a replica, there is nothing to replace.",
      };
    }
    sentinels.push({
      host: state.host,
      port: state.port,
      settings: {
        quorum: state.quorum ?? 1,
        downAfterMs: state.downAfterMs ?? 30_000,
        failoverTimeoutMs: state.failoverTimeoutMs ?? 180_000,
        parallelSyncs: state.parallelSyncs ?? 1,
      },
    });
  }
  const monitor: Monitor = {
    kind: "sentinel-monitor",
    masterName: declared.masterName,
    sentinels,
    newMaster,
    timeoutMs: declared.agreeTimeoutMs,
  };
  if (cluster.redisPasswordEnv) monitor.authPassEnv = cluster.redisPasswordEnv;
  if (cluster.redisUsernameEnv) monitor.authUserEnv = cluster.redisUsernameEnv;
  return {
    remove: { kind: "sentinel-remove", masterName: declared.masterName, sentinels, oldMaster },
    monitor,
  };
}
