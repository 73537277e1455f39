import type { JournalRecord, JournalStore } from "../state/types.js";
import type { Metrics, RunOutcome } from "./metrics.js";

interface RunLabels {
  mode: string;
  /** Step kinds by 1-based index. */
  steps: Map<number, string>;
}

/**
 * A journal store that also counts what it records: every run, step and decision is appended
 * to the journal before anything acts on it, so the journal is the one place that sees them
 * all, whichever front end or lifecycle code wrote them. Labels (mode, step kind) come from the
 * run's "requested" record; for a run requested before a restart they are read back once.
 */
export function countingJournal(store: JournalStore, metrics: Metrics): JournalStore {
  const runs = new Map<string, RunLabels>();
  const labelsOf = async (runId: string): Promise<RunLabels | undefined> => {
    const known = runs.get(runId);
    if (known) return known;
    const records = await store.read({ runId }).catch(() => []);
    const requested = records.find((record) => record.type === "requested");
    if (requested?.type !== "requested") return undefined;
    const labels = labelsFromPlan(requested.plan);
    runs.set(runId, labels);
    return labels;
  };
  const count = async (record: JournalRecord): Promise<void> => {
    switch (record.type) {
      case "requested": {
        const labels = labelsFromPlan(record.plan);
        if (record.dryRun) metrics.dryRunPlanned(record.cluster, labels.mode);
        else runs.set(record.runId, labels);
        return;
      }
      case "decided":
        metrics.decision(record.decision);
        if (record.decision === "rejected" || record.decision === "expired") {
          runs.delete(record.runId);
        }
        return;
      case "step-finished": {
        const labels = await labelsOf(record.runId);
        metrics.stepFinished(
          labels?.mode ?? "unknown",
          labels?.steps.get(record.index) ?? "unknown",
          record.status,
          record.durationMs / 1000,
        );
        return;
      }
      case "run-finished": {
        const labels = await labelsOf(record.runId);
        const outcome: RunOutcome = record.ok ? "succeeded" : record.aborted ? "aborted" : "failed";
        metrics.runFinished(
          record.cluster,
          labels?.mode ?? "unknown",
          outcome,
          record.durationMs / 1000,
        );
        runs.delete(record.runId);
        return;
      }
      default:
        return;
    }
  };
  return {
    async append(record) {
      await store.append(record);
      await count(record);
    },
    read: (filter) => store.read(filter),
    close: () => store.close(),
  };
}

function labelsFromPlan(plan: {
  mode: string;
  steps: readonly { index: number; spec: { kind: string } }[];
}): RunLabels {
  return {
    mode: plan.mode,
    steps: new Map(plan.steps.map((step) => [step.index, step.spec.kind])),
  };
}
