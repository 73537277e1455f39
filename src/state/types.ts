import type { RunFacts, StepStatus } from "../engine/events.js";
import type { HostRef, Plan } from "../plan/types.js";

/**
 * The journal: every run, recorded before the bot acts on it. Records are facts that happened,
 * in order; the state of a run is derived by replaying them (see replay.ts). Plain JSON.
 */
export type JournalRecord =
  | {
      type: "requested";
      runId: string;
      cluster: string;
      at: number;
      /** Slack user id, or "cli:<user>@<host>" for the break-glass CLI. */
      requester: string;
      source: "slack" | "cli";
      channel?: string;
      /**
       * A run with no root message of its own (a watch's Fence button) reports in this thread
       * of `channel`: its steps, summary and any Resume offer go there.
       */
      threadTs?: string;
      dryRun: boolean;
      expiresAt?: number;
      plan: Plan;
    }
  /** The root (approval) message was posted: its thread is the run's thread. */
  | { type: "posted"; runId: string; cluster: string; at: number; channel: string; ts: string }
  | {
      type: "decided";
      runId: string;
      cluster: string;
      at: number;
      decision: "approved" | "rejected" | "expired" | "resumed";
      by?: string;
    }
  | {
      type: "run-started";
      runId: string;
      cluster: string;
      at: number;
      /** Which bot process (or CLI invocation) executes this attempt. */
      instance: string;
      fencingToken: number;
      attempt: number;
      fromStep: number;
    }
  | {
      type: "step-started";
      runId: string;
      cluster: string;
      at: number;
      index: number;
      title: string;
    }
  | {
      type: "step-finished";
      runId: string;
      cluster: string;
      at: number;
      index: number;
      status: StepStatus;
      durationMs: number;
      /** The step's output (scrubbed), capped. */
      output: string;
      error?: string;
      reason?: string;
      warnings: string[];
      /** What the run knew after this step: a resumed run continues from here. */
      facts: RunFacts;
    }
  | {
      type: "run-finished";
      runId: string;
      cluster: string;
      at: number;
      ok: boolean;
      aborted: boolean;
      abortedBy?: string;
      durationMs: number;
      newMaster?: HostRef;
      failedStep?: { index: number; title: string; error: string };
      warnings: string[];
      nextActions: string[];
    }
  /** A run found interrupted (its executor died) and offered for resumption in its thread. */
  | {
      type: "interrupted";
      runId: string;
      cluster: string;
      at: number;
      instance: string;
      step?: number;
    }
  /** An unfinished run abandoned by an approver (Dismiss): it no longer blocks its cluster. */
  | {
      type: "dismissed";
      runId: string;
      cluster: string;
      at: number;
      by: string;
      reason: string;
    }
  | OutboxPendingRecord
  | OutboxDeliveredRecord
  | WatchRecord;

/**
 * A watch on an old master that a run could not fence (see state/watches.ts). `runId` is the
 * run that left it unfenced; its thread is where the watch reports. `host` is an inventory name.
 */
export type WatchRecord =
  | {
      type: "watch-started";
      runId: string;
      cluster: string;
      at: number;
      host: HostRef;
      /** The master the run made: the host is fenced once it replicates from it. */
      newMaster: HostRef;
    }
  /** The host answered again (the n-th time), and it was said in the run's thread. */
  | {
      type: "watch-returned";
      runId: string;
      cluster: string;
      at: number;
      host: string;
      n: number;
      summary: string;
      by: string;
    }
  /** The host, after answering, went silent again. */
  | {
      type: "watch-silent";
      runId: string;
      cluster: string;
      at: number;
      host: string;
      n: number;
      by: string;
    }
  | {
      type: "watch-ended";
      runId: string;
      cluster: string;
      at: number;
      host: string;
      /** fenced: a run fenced it; replica: found following the current master; superseded: a later run watches it. */
      reason: "fenced" | "replica" | "superseded";
      detail: string;
      /** The fencing run, when a run fenced it. */
      fencedBy?: string;
    };

/**
 * Where an undelivered Slack write goes: a message known by its ts, or one that was itself
 * still waiting to be posted (the id of that write's outbox-pending record).
 */
export type OutboxTarget = { ts: string } | { pending: string };

/**
 * A Slack write the bot could not deliver before it stopped. The next start, or another
 * instance, claims it (first writer wins) and sends it once; updates of one message are
 * coalesced to the latest content. `runId` is the run the message belongs to ("" if unknown).
 */
export interface OutboxPendingRecord {
  type: "outbox-pending";
  runId: string;
  cluster?: string;
  at: number;
  /** Unique per write; the claim key and what outbox-delivered names. */
  id: string;
  /** The instance that stopped with it queued. */
  instance: string;
  channel: string;
  write:
    | {
        kind: "post";
        text: string;
        blocks?: unknown[];
        thread?: OutboxTarget;
        /** The run's root (approval) message: once posted, the run gets its `posted` record. */
        root?: boolean;
      }
    | { kind: "update"; message: OutboxTarget; text: string; blocks?: unknown[] }
    | {
        kind: "upload";
        thread?: OutboxTarget;
        filename: string;
        title: string;
        /** base64 when the file was binary. */
        content: string;
        encoding: "utf8" | "base64";
        initialComment?: string;
      };
}

/** An outbox-pending write was sent (ts: the posted message's), given up, or superseded. */
export interface OutboxDeliveredRecord {
  type: "outbox-delivered";
  runId: string;
  at: number;
  id: string;
  instance: string;
  outcome: "sent" | "gave-up" | "superseded" | "requeued";
  ts?: string;
}

export type JournalRecordType = JournalRecord["type"];

/** Append-only, durable record of runs. `append` resolves once the record would survive a crash. */
export interface JournalStore {
  append(record: JournalRecord): Promise<void>;
  /** Every readable record in append order; damaged records (a torn last write) are skipped. */
  read(filter?: { runId?: string; since?: number }): Promise<JournalRecord[]>;
  close(): Promise<void>;
}

export interface LockHolder {
  runId: string;
  instance: string;
  fencingToken: number;
  /** Unix ms when the lease runs out unless renewed. */
  expiresAt: number;
}

/** A held per-cluster lock; renewed in the background until released or lost. */
export interface LockLease {
  readonly cluster: string;
  readonly fencingToken: number;
  /** Aborted when the lease is lost (renewal failed or someone else holds it now). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export type AcquireResult = { ok: true; lease: LockLease } | { ok: false; holder: LockHolder };

/** One failover per cluster, across every bot instance sharing the state backend. */
export interface ClusterLocks {
  acquire(
    cluster: string,
    owner: { runId: string; instance: string },
    leaseMs: number,
  ): Promise<AcquireResult>;
  /** Who holds the cluster's lock now (an expired lease counts as free). */
  holder(cluster: string): Promise<LockHolder | undefined>;
}

/** First-writer-wins decisions (a click handled by one instance only). */
export interface Decisions {
  /** Records `value` under `key` unless something is already there; returns whether this call won. */
  claim(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** What was claimed under `key`, if anything. */
  read(key: string): Promise<string | undefined>;
}

export interface StateBackend {
  /** "file:<dir>" or "redis:<host:port>", for messages. */
  readonly description: string;
  readonly journal: JournalStore;
  readonly locks: ClusterLocks;
  readonly decisions: Decisions;
  close(): Promise<void>;
}
