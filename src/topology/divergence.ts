import { type InfoFields, intField } from "../redis/info.js";

/** A server's place in replication history, from INFO replication. */
export interface HistoryMark {
  replicationId?: string;
  /** The previous replication ID (master_replid2) and the offset where it ended (second_repl_offset). */
  previousId?: string;
  previousEndsAt?: number;
  offset: number;
}

export function historyMark(info: InfoFields): HistoryMark {
  const mark: HistoryMark = {
    offset: intField(info, "master_repl_offset") ?? 0,
  };
  const id = info.get("master_replid");
  if (id) mark.replicationId = id;
  const previous = info.get("master_replid2");
  const endsAt = intField(info, "second_repl_offset");
  // An unused master_replid2 is all zeros with second_repl_offset -1.
  if (previous && !/^0+$/.test(previous) && endsAt !== undefined && endsAt >= 0) {
    mark.previousId = previous;
    mark.previousEndsAt = endsAt;
  }
  return mark;
}

export type Divergence =
  /** Everything the returning server holds is in the current master's history. */
  | { diverged: false; reason: string }
  /** It holds `bytes` of replication stream the current master never received. */
  | { diverged: true; bytes: number; reason: string }
  /** Their histories cannot be compared (a restart gave it a new ID): assume it holds writes of its own. */
  | { diverged: "unknown"; reason: string };

/**
 * Whether `returning` (an old master that came back) holds writes `current` lacks, the way
 * PSYNC decides it: same replication ID and an offset no further than the current master's, or
 * the current master's previous ID (the one it had before its promotion) and an offset no
 * further than where that history ended. Pure.
 */
export function compareHistories(returning: HistoryMark, current: HistoryMark): Divergence {
  if (!returning.replicationId || !current.replicationId)
    return { diverged: "unknown", reason: "a replication ID is missing from INFO" };
  if (returning.replicationId === current.replicationId) {
    const bytes = returning.offset - current.offset;
    return bytes > 0
      ? {
          diverged: true,
          bytes,
          reason: `same replication ID, but its offset ${returning.offset} is ${bytes} bytes past the current master's ${current.offset}`,
        }
      : {
          diverged: false,
          reason: `same replication ID, offset ${returning.offset} ≤ ${current.offset}`,
        };
  }
  if (returning.replicationId === current.previousId && current.previousEndsAt !== undefined) {
    // second_repl_offset is the first offset of the new history: the old one ended just before it.
    const endedAt = current.previousEndsAt - 1;
    const bytes = returning.offset - endedAt;
    return bytes > 0
      ? {
          diverged: true,
          bytes,
          reason: `it kept writing after the current master took over: offset ${returning.offset}, ${bytes} bytes past ${endedAt} where the current master's history branched off`,
        }
      : {
          diverged: false,
          reason: `the current master took over at offset ${endedAt}, at or after this server's last write (${returning.offset})`,
        };
  }
  return {
    diverged: "unknown",
    reason: `its replication ID ${returning.replicationId} is neither the current master's (${current.replicationId}) nor the one it had before (${current.previousId ?? "none"}); it may have restarted, so its writes cannot be matched`,
  };
}
