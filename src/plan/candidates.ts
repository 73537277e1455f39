import type { NodeState } from "../topology/types.js";
import type { Candidate } from "./types.js";

const DEFAULT_PRIORITY = 100;

/**
 * Ranks replicas for promotion the way Sentinel does: skip unreachable, loading, still-syncing
 * and `replica-priority 0` replicas; prefer the lowest priority, then the highest replication
 * offset, then the name (a stable tie-break).
 */
export function rankCandidates(
  replicas: readonly NodeState[],
  unreachable: readonly NodeState[] = [],
): Candidate[] {
  const best = Math.max(0, ...replicas.map((replica) => replica.offset ?? 0));
  const heard = replicas
    .map(lastHeardSecondsAgo)
    .filter((seconds): seconds is number => seconds !== undefined);
  const freshest = heard.length > 0 ? Math.min(...heard) : undefined;
  const candidates = replicas.map((replica): Candidate => {
    const offset = replica.offset ?? 0;
    const priority = replica.replicaPriority ?? DEFAULT_PRIORITY;
    const candidate: Candidate = {
      name: replica.name,
      offset,
      behindBestBytes: best - offset,
      priority,
      eligible: true,
    };
    const lastHeard = lastHeardSecondsAgo(replica);
    if (lastHeard !== undefined) candidate.lastHeardSecondsAgo = lastHeard;
    const reason = ineligibility(replica, priority) ?? staleness(replica, lastHeard, freshest);
    if (reason) {
      candidate.eligible = false;
      candidate.reason = reason;
    }
    return candidate;
  });
  for (const node of unreachable) {
    candidates.push({
      name: node.name,
      offset: 0,
      behindBestBytes: 0,
      priority: DEFAULT_PRIORITY,
      eligible: false,
      reason: `unreachable (${node.error ?? "no answer"})`,
    });
  }
  return candidates.sort(compareCandidates);
}

function ineligibility(replica: NodeState, priority: number): string | undefined {
  if (!replica.reachable) return `unreachable (${replica.error ?? "no answer"})`;
  if (replica.loading) return "still loading its dataset";
  if (replica.master?.syncInProgress)
    return "a full sync from the master was in progress: its dataset is incomplete";
  if (priority === 0) return "replica-priority 0 (configured never to become master)";
  return undefined;
}

/**
 * Sentinel skips a replica whose link was down for more than 10 × down-after-milliseconds
 * before the master failed: its data is too old to be trusted. Without Sentinel the bot uses
 * the replica's own repl-timeout as the down-after equivalent (both say "the master has been
 * silent too long"), and measures from the moment the freshest replica last heard the master.
 */
export function maxStaleSeconds(replica: NodeState): number {
  return 10 * (replica.replTimeout ?? 60);
}

function staleness(
  replica: NodeState,
  lastHeard: number | undefined,
  freshest: number | undefined,
): string | undefined {
  if (lastHeard === undefined || freshest === undefined) return undefined;
  const behind = lastHeard - freshest;
  const limit = maxStaleSeconds(replica);
  return behind > limit
    ? `disconnected from the master ${behind} s before the freshest replica lost it, more than 10 × repl-timeout (${limit} s, Sentinel's 10 × down-after rule): its data is too old`
    : undefined;
}

function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.eligible !== b.eligible) return a.eligible ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.offset !== b.offset) return b.offset - a.offset;
  return a.name.localeCompare(b.name);
}

/** Seconds since the replica last heard from its master: the window of writes it may miss. */
export function lastHeardSecondsAgo(replica: NodeState): number | undefined {
  const link = replica.master;
  if (!link) return undefined;
  if (link.linkStatus === "down") return link.linkDownSinceSeconds ?? link.lastIoSecondsAgo;
  return link.lastIoSecondsAgo;
}
