import type { Logger } from "pino";
import type { ClusterConfig } from "../config/inventory.js";
import { errorMessage } from "../errors.js";
import type { Plan, PlannedStep, StepSpec } from "../plan/types.js";
import type { Secrets } from "../secrets.js";
import { discoverTopology } from "../topology/discover.js";
import type { Topology } from "../topology/types.js";
import type { Connections } from "./connections.js";
import type { RunEvent, RunEventListener, RunFacts, RunResult, StepRecord } from "./events.js";
import { nextActionsAfterFailure } from "./failure-report.js";
import { createStepContext, type StepImplementation } from "./step-context.js";
import { STEPS } from "./steps/index.js";

export interface ExecuteOptions {
  cluster: ClusterConfig;
  connections: Connections;
  log: Logger;
  secrets: Secrets;
  /** Checked between steps: an abort stops the run before the next step. */
  signal?: AbortSignal;
  onEvent?: RunEventListener;
  /** Resume: facts a previous attempt learned, and the first step to consider. */
  facts?: RunFacts;
  fromStep?: number;
  now?: () => number;
}

/**
 * Runs a plan's steps in order. Each step acts and verifies; the first failure stops the run,
 * which then reports every server's current role and what to do next.
 */
export async function executePlan(plan: Plan, options: ExecuteOptions): Promise<RunResult> {
  const now = options.now ?? Date.now;
  const runLog = options.log.child({ runId: plan.runId, cluster: plan.cluster, mode: plan.mode });
  const facts: RunFacts = options.facts ?? {};
  const startedAt = now();
  const records: StepRecord[] = plan.steps.map((step) => ({
    index: step.index,
    title: step.title,
    status: "skipped",
    warnings: [],
  }));
  const emit = (event: RunEvent) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      // A broken listener (a front end) must never stop a failover halfway.
      runLog.error({ err: errorMessage(error), event: event.type }, "event listener failed");
    }
  };
  const scrub = (text: string) => options.secrets.scrub(text);

  emit({ type: "run-started", runId: plan.runId, plan, at: startedAt });
  runLog.info({ steps: plan.steps.length, newMaster: plan.newMaster.name }, "run started");

  let failed: { step: PlannedStep; error: string } | undefined;
  let aborted = false;
  const resumeFrom = options.fromStep ?? 1;

  for (const step of plan.steps) {
    const record = records[step.index - 1] as StepRecord;
    if (failed || aborted) {
      record.reason = failed
        ? `not run: step ${failed.step.index} failed`
        : "not run: the run was aborted";
      emitSkipped(emit, plan.runId, record);
      continue;
    }
    if (options.signal?.aborted) {
      aborted = true;
      runLog.warn({ step: step.index }, "run aborted before step");
      record.reason = "not run: the run was aborted";
      emitSkipped(emit, plan.runId, record);
      continue;
    }
    if (step.index < resumeFrom) {
      record.reason = "done in an earlier attempt";
      emitSkipped(emit, plan.runId, record);
      continue;
    }
    const stepLog = runLog.child({ step: step.index, kind: step.spec.kind });
    const context = createStepContext({
      runId: plan.runId,
      plan,
      cluster: options.cluster,
      connections: options.connections,
      facts,
      log: stepLog,
      output: (text) =>
        emit({ type: "step-output", runId: plan.runId, index: step.index, text: scrub(text) }),
      warn: (text) => {
        record.warnings.push(scrub(text));
        emit({
          type: "step-output",
          runId: plan.runId,
          index: step.index,
          text: `WARNING: ${scrub(text)}`,
        });
      },
    });
    const implementation = STEPS[step.spec.kind] as StepImplementation<StepSpec>;
    const started = now();
    emit({ type: "step-started", runId: plan.runId, step, at: started });
    stepLog.info({ from: "pending", to: "running", title: step.title }, "step started");
    try {
      const doneBecause = options.fromStep
        ? await implementation.alreadyDone?.(step.spec, context)
        : undefined;
      if (doneBecause) {
        record.status = "skipped";
        record.reason = scrub(doneBecause);
      } else {
        await implementation.run(step.spec, context);
        record.status = "ok";
      }
    } catch (error) {
      record.status = "failed";
      record.error = scrub(errorMessage(error));
      failed = { step, error: record.error };
    }
    record.durationMs = now() - started;
    stepLog.info(
      {
        from: "running",
        to: record.status,
        durationMs: record.durationMs,
        error: record.error,
        warnings: record.warnings,
      },
      "step finished",
    );
    emit({ type: "step-finished", runId: plan.runId, ...record, durationMs: record.durationMs });
  }

  const result: RunResult = {
    runId: plan.runId,
    cluster: plan.cluster,
    mode: plan.mode,
    ok: !failed && !aborted,
    aborted,
    startedAt,
    durationMs: 0,
    steps: records,
    warnings: records.flatMap((record) => record.warnings),
    nextActions: [],
    facts,
  };
  if (result.ok) result.newMaster = plan.newMaster;
  if (facts.unfenced) result.nextActions.push(...facts.unfenced.commands);

  const topologyAfter = await freshTopology(options, runLog);
  if (topologyAfter) result.topologyAfter = topologyAfter;
  if (failed) {
    result.failedStep = { index: failed.step.index, title: failed.step.title, error: failed.error };
    const context = createStepContext({
      runId: plan.runId,
      plan,
      cluster: options.cluster,
      connections: options.connections,
      facts,
      log: runLog,
      output: () => {},
      warn: () => {},
    });
    const stepAdvice = (STEPS[failed.step.spec.kind] as StepImplementation<StepSpec>).advice(
      failed.step.spec,
      context,
    );
    result.nextActions.push(...nextActionsAfterFailure(plan, failed.step, stepAdvice));
  } else if (aborted) {
    const done = records.filter((record) => record.status === "ok").length;
    result.nextActions.push(
      `The run was aborted after ${done} of ${plan.steps.length} steps; check the topology above and plan again.`,
    );
  }
  result.nextActions = result.nextActions.map(scrub);
  result.durationMs = now() - startedAt;
  runLog.info(
    { ok: result.ok, aborted, durationMs: result.durationMs, failedStep: result.failedStep?.index },
    "run finished",
  );
  emit({ type: "run-finished", runId: plan.runId, result });
  return result;
}

function emitSkipped(emit: (event: RunEvent) => void, runId: string, record: StepRecord): void {
  record.status = "skipped";
  record.durationMs = 0;
  emit({ type: "step-finished", runId, ...record, durationMs: 0 });
}

async function freshTopology(options: ExecuteOptions, log: Logger): Promise<Topology | undefined> {
  try {
    return await discoverTopology(options.cluster, options.connections);
  } catch (error) {
    log.error({ err: errorMessage(error) }, "could not read the topology after the run");
    return undefined;
  }
}
