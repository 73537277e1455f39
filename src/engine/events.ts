import type { HostRef, Plan, PlanKind, PlannedStep } from "../plan/types.js";
import type { Topology } from "../topology/types.js";

/** What a run learns as it goes, which later steps (and a resumed run) rely on. Plain data. */
export interface RunFacts {
  snapshot?: {
    host: string;
    keys: number;
    /** Keys with a TTL: they may legitimately vanish between the snapshot and the load. */
    keysWithExpiry: number;
    lastSave: number;
    path: string;
    method: "BGSAVE" | "SAVE";
  };
  copy?: { bytes: number; sha256: string; durationMs: number; targetPath: string };
  /**
   * The copy step's command started Redis on the target (copy-rdb thenStart): the start
   * command's exit code and its last lines (the whole output is in the copy step's), for the
   * start step, which consumes it.
   */
  startedWithCopy?: { host: string; code: number | null; lastLines: string[] };
  /** Files renamed so they would not be loaded instead of the snapshot: from -> to. */
  movedAside?: Array<{ from: string; to: string }>;
  /** redis.conf whose appendonly was switched off for the first start, and its backup. */
  aofDisabledIn?: { config: string; backup: string };
  /** The old master could not be fenced: the commands to run when it comes back. */
  unfenced?: { name: string; commands: string[] };
  /**
   * Datasets saved on a returning master before it was made a replica, because it held
   * writes the current master lacked (or could not be shown not to): kept, never overwritten.
   */
  kept?: Array<{ host: string; path: string; keys: number; divergedBytes?: number; why: string }>;
}

export type StepStatus = "running" | "ok" | "failed" | "skipped";

export interface StepRecord {
  index: number;
  title: string;
  status: StepStatus;
  durationMs?: number;
  error?: string;
  warnings: string[];
  /** Why a step was skipped (an earlier failure, an abort, or its outcome already held). */
  reason?: string;
}

export interface RunResult {
  runId: string;
  cluster: string;
  mode: PlanKind;
  ok: boolean;
  aborted: boolean;
  /** Set when the run succeeded. */
  newMaster?: HostRef;
  startedAt: number;
  durationMs: number;
  steps: StepRecord[];
  failedStep?: { index: number; title: string; error: string };
  topologyAfter?: Topology;
  warnings: string[];
  nextActions: string[];
  facts: RunFacts;
}

export type RunEvent =
  | { type: "run-started"; runId: string; plan: Plan; at: number }
  | { type: "step-started"; runId: string; step: PlannedStep; at: number }
  | { type: "step-output"; runId: string; index: number; text: string }
  | ({ type: "step-finished"; runId: string } & StepRecord & { durationMs: number })
  | { type: "run-finished"; runId: string; result: RunResult };

export type RunEventListener = (event: RunEvent) => void;
