import type { HostRef } from "../plan/types.js";
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

/** Watches still open (the host not fenced yet), oldest first. */
export function openWatches(watches: Map<string, WatchHistory>): WatchHistory[] {
  return [...watches.values()].filter((watch) => !watch.ended);
}
