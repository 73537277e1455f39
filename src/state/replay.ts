import type { RunFacts, StepStatus } from "../engine/events.js";
import type { Plan } from "../plan/types.js";
import type { RunState } from "./run-state.js";
import type { JournalRecord } from "./types.js";

/** A run as the journal tells it. */
export interface RunHistory {
  runId: string;
  cluster: string;
  source: "slack" | "cli";
  requester: string;
  plan: Plan;
  dryRun: boolean;
  requestedAt: number;
  expiresAt?: number;
  channel?: string;
  rootTs?: string;
  /** A run without a root message of its own reports in this thread of `channel` (Fence). */
  threadTs?: string;
  state: RunState;
  approver?: string;
  decidedBy?: string;
  attempts: number;
  instance?: string;
  fencingToken?: number;
  startedAt?: number;
  /** The step that started but never finished, when the executor died. */
  inFlightStep?: { index: number; title: string };
  /** Highest step index that finished (ok or skipped) without a failure after it. */
  lastFinishedStep: number;
  steps: Map<
    number,
    { status: StepStatus; durationMs: number; output: string; error?: string; warnings: string[] }
  >;
  facts: RunFacts;
  /** The run-finished record of the latest attempt. */
  finished?: Omit<Extract<JournalRecord, { type: "run-finished" }>, "type" | "runId" | "cluster">;
  /** Set when a recovery was offered for the current attempt. */
  interruptedAt?: number;
  /** Why an approver abandoned the run (Dismiss). */
  dismissReason?: string;
}

/** Replays journal records (in append order) into the runs they describe. Pure. */
export function replay(records: readonly JournalRecord[]): Map<string, RunHistory> {
  const runs = new Map<string, RunHistory>();
  for (const record of records) {
    if (record.type === "requested") {
      runs.set(record.runId, {
        runId: record.runId,
        cluster: record.cluster,
        source: record.source,
        requester: record.requester,
        plan: record.plan,
        dryRun: record.dryRun,
        requestedAt: record.at,
        ...(record.expiresAt !== undefined ? { expiresAt: record.expiresAt } : {}),
        ...(record.channel ? { channel: record.channel } : {}),
        ...(record.threadTs ? { threadTs: record.threadTs } : {}),
        state: record.dryRun ? "dry-run" : "awaiting-approval",
        attempts: 0,
        lastFinishedStep: 0,
        steps: new Map(),
        facts: {},
      });
      continue;
    }
    const run = runs.get(record.runId);
    if (!run) continue;
    apply(run, record);
  }
  return runs;
}

function apply(run: RunHistory, record: Exclude<JournalRecord, { type: "requested" }>): void {
  switch (record.type) {
    case "posted":
      run.channel = record.channel;
      run.rootTs = record.ts;
      return;
    case "decided":
      if (record.decision === "approved" || record.decision === "resumed") {
        run.state = "approved";
        if (record.decision === "approved" && record.by) run.approver = record.by;
      } else {
        run.state = record.decision;
        if (record.by) run.decidedBy = record.by;
      }
      return;
    case "run-started":
      run.state = "running";
      run.attempts = record.attempt;
      run.instance = record.instance;
      run.fencingToken = record.fencingToken;
      run.startedAt ??= record.at;
      delete run.inFlightStep;
      delete run.interruptedAt;
      delete run.finished;
      return;
    case "step-started":
      run.inFlightStep = { index: record.index, title: record.title };
      return;
    case "step-finished":
      run.steps.set(record.index, {
        status: record.status,
        durationMs: record.durationMs,
        output: record.output,
        ...(record.error ? { error: record.error } : {}),
        warnings: record.warnings,
      });
      run.facts = record.facts;
      if (run.inFlightStep?.index === record.index) delete run.inFlightStep;
      if (record.status !== "failed" && record.index === run.lastFinishedStep + 1)
        run.lastFinishedStep = record.index;
      return;
    case "run-finished":
      run.state = record.ok ? "succeeded" : record.aborted ? "aborted" : "failed";
      {
        const { type: _type, runId: _runId, cluster: _cluster, ...finished } = record;
        run.finished = finished;
      }
      if (record.abortedBy) run.decidedBy = record.abortedBy;
      delete run.inFlightStep;
      return;
    case "interrupted":
      if (run.state === "running" || run.state === "approved") {
        run.state = "interrupted";
        run.interruptedAt = record.at;
      }
      return;
    case "dismissed":
      if (run.state === "interrupted" || run.state === "running" || run.state === "approved") {
        run.state = "dismissed";
        run.decidedBy = record.by;
        run.dismissReason = record.reason;
        delete run.inFlightStep;
      }
      return;
  }
}

/** Where a resumed run picks up: the step that was in flight, else the one after the last finished. */
export function resumePoint(run: RunHistory): number {
  return run.inFlightStep?.index ?? run.lastFinishedStep + 1;
}
