import type { RunEvent, RunFacts } from "../engine/events.js";
import type { Checkpoint } from "../engine/executor.js";
import type { Plan } from "../plan/types.js";
import { type RunHistory, replay } from "./replay.js";
import type { JournalRecord, JournalStore } from "./types.js";
import { watchRecordsForStep } from "./watches.js";

/** Output kept per step in the journal; the Slack thread and CLI show it live anyway. */
const MAX_STEP_OUTPUT = 256 * 1024;

/** Typed writes and replayed reads over a journal store: what front ends use. */
export class RunJournal {
  readonly store: JournalStore;
  readonly #now: () => number;

  constructor(store: JournalStore, now: () => number = Date.now) {
    this.store = store;
    this.#now = now;
  }

  requested(
    plan: Plan,
    details: {
      source: "slack" | "cli";
      requester: string;
      channel?: string;
      threadTs?: string;
      dryRun: boolean;
      expiresAt?: number;
    },
  ): Promise<void> {
    return this.store.append({
      type: "requested",
      runId: plan.runId,
      cluster: plan.cluster,
      at: this.#now(),
      plan,
      ...details,
    });
  }

  posted(plan: Pick<Plan, "runId" | "cluster">, channel: string, ts: string): Promise<void> {
    return this.store.append({
      type: "posted",
      runId: plan.runId,
      cluster: plan.cluster,
      at: this.#now(),
      channel,
      ts,
    });
  }

  decided(
    plan: Pick<Plan, "runId" | "cluster">,
    decision: Extract<JournalRecord, { type: "decided" }>["decision"],
    by?: string,
  ): Promise<void> {
    return this.store.append({
      type: "decided",
      runId: plan.runId,
      cluster: plan.cluster,
      at: this.#now(),
      decision,
      ...(by ? { by } : {}),
    });
  }

  runStarted(
    plan: Pick<Plan, "runId" | "cluster">,
    attempt: { instance: string; fencingToken: number; attempt: number; fromStep: number },
  ): Promise<void> {
    return this.store.append({
      type: "run-started",
      runId: plan.runId,
      cluster: plan.cluster,
      at: this.#now(),
      ...attempt,
    });
  }

  interrupted(
    plan: Pick<Plan, "runId" | "cluster">,
    instance: string,
    step?: number,
  ): Promise<void> {
    return this.store.append({
      type: "interrupted",
      runId: plan.runId,
      cluster: plan.cluster,
      at: this.#now(),
      instance,
      ...(step !== undefined ? { step } : {}),
    });
  }

  dismissed(plan: Pick<Plan, "runId" | "cluster">, by: string, reason: string): Promise<void> {
    return this.store.append({
      type: "dismissed",
      runId: plan.runId,
      cluster: plan.cluster,
      at: this.#now(),
      by,
      reason,
    });
  }

  /** Records a run's progress from the engine's events: a checkpoint the executor awaits. */
  recorder(
    plan: Pick<Plan, "runId" | "cluster" | "steps">,
    abortedBy?: () => string | undefined,
  ): { onEvent: (event: RunEvent) => void; checkpoint: Checkpoint } {
    const outputs = new Map<number, string[]>();
    const base = { runId: plan.runId, cluster: plan.cluster };
    return {
      onEvent: (event) => {
        if (event.type !== "step-output") return;
        const lines = outputs.get(event.index) ?? [];
        lines.push(event.text);
        outputs.set(event.index, lines);
      },
      checkpoint: async (event, facts: RunFacts) => {
        switch (event.type) {
          case "step-started":
            await this.store.append({
              ...base,
              type: "step-started",
              at: event.at,
              index: event.step.index,
              title: event.step.title,
            });
            return;
          case "step-finished": {
            const output = (outputs.get(event.index) ?? []).join("\n");
            outputs.delete(event.index);
            await this.store.append({
              ...base,
              type: "step-finished",
              at: this.#now(),
              index: event.index,
              status: event.status,
              durationMs: event.durationMs,
              output:
                output.length > MAX_STEP_OUTPUT ? `…${output.slice(-MAX_STEP_OUTPUT)}` : output,
              warnings: event.warnings,
              facts: structuredClone(facts),
              ...(event.error ? { error: event.error } : {}),
              ...(event.reason ? { reason: event.reason } : {}),
            });
            if (plan.steps[event.index - 1]?.spec.kind === "fence") {
              const records = await this.store.read();
              for (const record of watchRecordsForStep(records, plan, event, facts, this.#now()))
                await this.store.append(record);
            }
            return;
          }
          case "run-finished": {
            const result = event.result;
            const aborter = result.aborted ? abortedBy?.() : undefined;
            await this.store.append({
              ...base,
              type: "run-finished",
              at: this.#now(),
              ok: result.ok,
              aborted: result.aborted,
              durationMs: result.durationMs,
              warnings: result.warnings,
              nextActions: result.nextActions,
              ...(aborter ? { abortedBy: aborter } : {}),
              ...(result.newMaster ? { newMaster: result.newMaster } : {}),
              ...(result.failedStep ? { failedStep: result.failedStep } : {}),
            });
            return;
          }
          default:
            return;
        }
      },
    };
  }

  async runs(filter: { runId?: string; since?: number } = {}): Promise<Map<string, RunHistory>> {
    return replay(await this.store.read(filter));
  }

  async run(runId: string): Promise<RunHistory | undefined> {
    return (await this.runs({ runId })).get(runId);
  }
}
