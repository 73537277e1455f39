import type { RunFacts, StepStatus } from "../engine/events.js";
import type { HostRef, Plan } from "../plan/types.js";
import type { JournalRecord, WatchRecord } from "./types.js";

/**
 * A watch on an old master a run could not fence, as the journal tells it. The journal is the
 * only place it lives, so a restarted bot (or another instance) picks it up where it was.
 */
export interface WatchHistory {
  /** The run that left the host unfenced; the watch reports in its thread. */
  runId: string;
  cluster: string;
  host: HostRef;
  newMaster: HostRef;
  startedAt: number;
  /** How many times the host was seen answering again (each said once in the thread). */
  returns: number;
  /** Whether the host answers now, as last recorded. */
  answering: boolean;
  lastSummary?: string;
  ended?: {
    at: number;
    reason: Extract<WatchRecord, { type: "watch-ended" }>["reason"];
    detail: string;
    fencedBy?: string;
  };
}

export function isWatchRecord(record: JournalRecord): record is WatchRecord {
  return record.type.startsWith("watch-");
}

/** Replays the watch records (in append order) into the watches they describe. Pure. */
export function replayWatches(records: readonly JournalRecord[]): Map<string, WatchHistory> {
  const watches = new Map<string, WatchHistory>();
  for (const record of records) {
    if (!isWatchRecord(record)) continue;
    if (record.type === "watch-started") {
      watches.set(record.runId, {
        runId: record.runId,
        cluster: record.cluster,
        host: record.host,
        newMaster: record.newMaster,
        startedAt: record.at,
        returns: 0,
        answering: false,
      });
      continue;
    }
    const watch = watches.get(record.runId);
    if (!watch || watch.ended) continue;
    switch (record.type) {
      case "watch-returned":
        watch.returns = Math.max(watch.returns, record.n);
        watch.answering = true;
        watch.lastSummary = record.summary;
        break;
      case "watch-silent":
        watch.answering = false;
        break;
      case "watch-ended":
        watch.ended = {
          at: record.at,
          reason: record.reason,
          detail: record.detail,
          ...(record.fencedBy ? { fencedBy: record.fencedBy } : {}),
        };
        break;
    }
  }
  return watches;
}

/**
 * The master the watched host should follow now: the new master of the last successful run of
 * the cluster since the watch began (a later failover moves it), else the watch's own.
 */
export function currentMaster(records: readonly JournalRecord[], watch: WatchHistory): HostRef {
  let current = watch.newMaster;
  for (const record of records) {
    if (
      record.type === "run-finished" &&
      record.ok &&
      record.newMaster &&
      record.cluster === watch.cluster &&
      record.at >= watch.startedAt
    )
      current = record.newMaster;
  }
  return current;
}

/** Watches still open (the host not fenced yet), oldest first. */
export function openWatches(watches: Map<string, WatchHistory>): WatchHistory[] {
  return [...watches.values()].filter((watch) => !watch.ended);
}

/**
 * What a finished fence step means for watches, recorded right after its step-finished record:
 * a host the step could not reach is watched from now on (in this run's thread; an older watch
 * of the same host gives way to it); a host it fenced ends every other run's watch of it,
 * whoever ran the step (a Fence button, the CLI's `fence`, a later failover). Pure.
 */
export function watchRecordsForStep(
  records: readonly JournalRecord[],
  plan: Pick<Plan, "runId" | "cluster" | "steps">,
  step: { index: number; status: StepStatus },
  facts: RunFacts,
  at: number,
): WatchRecord[] {
  const spec = plan.steps[step.index - 1]?.spec;
  if (spec?.kind !== "fence" || step.status !== "ok") return [];
  const host = spec.host.name;
  const unreachable = facts.unfenced?.name === host;
  const base = { cluster: plan.cluster, at, host } as const;
  const out: WatchRecord[] = [];
  const open = openWatches(replayWatches(records)).filter(
    (watch) => watch.cluster === plan.cluster && watch.host.name === host,
  );
  for (const watch of open) {
    if (watch.runId === plan.runId) continue;
    out.push(
      unreachable
        ? {
            ...base,
            type: "watch-ended",
            runId: watch.runId,
            reason: "superseded",
            detail: `run ${plan.runId} also could not fence ${host}; it is watched in that run's thread`,
          }
        : {
            ...base,
            type: "watch-ended",
            runId: watch.runId,
            reason: "fenced",
            detail: `${host} was fenced by run ${plan.runId}`,
            fencedBy: plan.runId,
          },
    );
  }
  if (unreachable && !open.some((watch) => watch.runId === plan.runId)) {
    out.push({
      type: "watch-started",
      runId: plan.runId,
      cluster: plan.cluster,
      at,
      host: spec.host,
      newMaster: spec.newMaster,
    });
  }
  return out;
}
