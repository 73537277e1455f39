import type { Logger } from "pino";
import type { ClusterConfig } from "../config/inventory.js";
import { errorMessage, FailoverError } from "../errors.js";
import type { Plan, PlannedStep, StepSpec } from "../plan/types.js";
import type { Secrets } from "../secrets.js";
import { discoverTopology } from "../topology/discover.js";
import type { Topology } from "../topology/types.js";
import type { Connections } from "./connections.js";
import type { RunEvent, RunEventListener, RunFacts, RunResult, StepRecord } from "./events.js";
import { nextActionsAfterFailure } from "./failure-report.js";
import { createStepContext, type StepImplementation } from "./step-context.js";
import { STEPS } from "./steps/index.js";

/** Awaited at run start, before and after each step and at the end: the journal writes here. */
export type Checkpoint = (event: RunEvent, facts: RunFacts) => Promise<void>;

export interface ExecuteOptions {
  cluster: ClusterConfig;
  connections: Connections;
  log: Logger;
  secrets: Secrets;
  /** Checked between steps: an abort stops the run before the next step. */
  signal?: AbortSignal;
  onEvent?: RunEventListener;
  /** A step runs only once its start is recorded; if recording fails, the step does not run. */
  checkpoint?: Checkpoint;
  /** Resume: facts a previous attempt learned, and the first step to consider. */
  facts?: RunFacts;
  fromStep?: number;
  now?: () => number;
}

type Outcome =
  | { kind: "ok" }
  | { kind: "failed"; step: PlannedStep; error: string }
  | { kind: "aborted" };

/**
 * Runs a plan's steps in order. Each step acts and verifies; the first failure stops the run,
 * which then reports every server's current role and what to do next. On resume, every step
 * from `fromStep` first checks whether its outcome already holds and is skipped if so.
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
  const scrub = (text: string) => options.secrets.scrub(text);
  const emit = (event: RunEvent) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      // A broken listener (a front end) must never stop a failover halfway.
      runLog.error({ err: errorMessage(error), event: event.type }, "event listener failed");
    }
  };
  const record = async (event: RunEvent) => {
    emit(event);
    await options.checkpoint?.(event, facts);
  };

  let outcome: Outcome = { kind: "ok" };
  try {
    await record({ type: "run-started", runId: plan.runId, plan, at: startedAt });
  } catch (error) {
    outcome = journalFailure(plan.steps[0], error);
  }
  runLog.info(
    { steps: plan.steps.length, newMaster: plan.newMaster.name, fromStep: options.fromStep },
    "run started",
  );

  for (const step of plan.steps) {
    const stepRecord = records[step.index - 1] as StepRecord;
    if (outcome.kind === "ok" && options.signal?.aborted) {
      outcome = { kind: "aborted" };
      runLog.warn({ step: step.index }, "run aborted before step");
    }
    if (outcome.kind !== "ok" || step.index < (options.fromStep ?? 1)) {
      stepRecord.reason =
        outcome.kind === "failed"
          ? `not run: step ${outcome.step.index} failed`
          : outcome.kind === "aborted"
            ? "not run: the run was aborted"
            : "done in an earlier attempt";
      stepRecord.durationMs = 0;
      await record({
        type: "step-finished",
        runId: plan.runId,
        ...stepRecord,
        durationMs: 0,
      }).catch((error: unknown) =>
        runLog.error(
          { err: errorMessage(error), step: step.index },
          "could not record a skipped step",
        ),
      );
      continue;
    }
    const started = now();
    try {
      await record({ type: "step-started", runId: plan.runId, step, at: started });
    } catch (error) {
      outcome = journalFailure(step, error);
      stepRecord.status = "failed";
      stepRecord.error = outcome.kind === "failed" ? outcome.error : "";
      stepRecord.durationMs = 0;
      emit({ type: "step-finished", runId: plan.runId, ...stepRecord, durationMs: 0 });
      continue;
    }
    stepRecord.status = "running";
    await runStep(plan, step, stepRecord, options, facts, runLog, emit, scrub);
    stepRecord.durationMs = now() - started;
    runLog.info(
      {
        step: step.index,
        from: "running",
        to: stepRecord.status,
        durationMs: stepRecord.durationMs,
        error: stepRecord.error,
      },
      "step finished",
    );
    if ((stepRecord.status as StepRecord["status"]) === "failed")
      outcome = { kind: "failed", step, error: stepRecord.error ?? "failed" };
    try {
      await record({
        type: "step-finished",
        runId: plan.runId,
        ...stepRecord,
        durationMs: stepRecord.durationMs,
      });
    } catch (error) {
      const next = plan.steps[step.index];
      if (outcome.kind === "ok" && next) outcome = journalFailure(next, error);
      else
        runLog.error(
          { err: errorMessage(error), step: step.index },
          "could not record the step's end",
        );
    }
  }

  const result: RunResult = {
    runId: plan.runId,
    cluster: plan.cluster,
    mode: plan.mode,
    ok: outcome.kind === "ok",
    aborted: outcome.kind === "aborted",
    startedAt,
    durationMs: 0,
    steps: records,
    warnings: records.flatMap((entry) => entry.warnings),
    nextActions: [],
    facts,
  };
  if (result.ok) result.newMaster = plan.newMaster;
  if (facts.unfenced) result.nextActions.push(...facts.unfenced.commands);
  const topologyAfter = await freshTopology(options, runLog);
  if (topologyAfter) result.topologyAfter = topologyAfter;
  if (outcome.kind === "failed") {
    result.failedStep = {
      index: outcome.step.index,
      title: outcome.step.title,
      error: outcome.error,
    };
    const context = stepContext(
      plan,
      options,
      facts,
      runLog,
      () => {},
      () => {},
    );
    const stepAdvice = (STEPS[outcome.step.spec.kind] as StepImplementation<StepSpec>).advice(
      outcome.step.spec,
      context,
    );
    result.nextActions.push(
      ...nextActionsAfterFailure(plan, outcome.step, stepAdvice, options.cluster),
    );
  } else if (outcome.kind === "aborted") {
    const done = records.filter((entry) => entry.status === "ok").length;
    result.nextActions.push(
      `The run was aborted after ${done} of ${plan.steps.length} steps; check the topology above and plan again.`,
    );
  }
  result.nextActions = result.nextActions.map(scrub);
  result.durationMs = now() - startedAt;
  runLog.info(
    {
      ok: result.ok,
      aborted: result.aborted,
      durationMs: result.durationMs,
      failedStep: result.failedStep?.index,
    },
    "run finished",
  );
  await record({ type: "run-finished", runId: plan.runId, result }).catch((error: unknown) =>
    runLog.error({ err: errorMessage(error) }, "could not record the end of the run"),
  );
  return result;
}

async function runStep(
  plan: Plan,
  step: PlannedStep,
  stepRecord: StepRecord,
  options: ExecuteOptions,
  facts: RunFacts,
  runLog: Logger,
  emit: (event: RunEvent) => void,
  scrub: (text: string) => string,
): Promise<void> {
  const stepLog = runLog.child({ step: step.index, kind: step.spec.kind });
  const context = stepContext(
    plan,
    options,
    facts,
    stepLog,
    (text) =>
      emit({ type: "step-output", runId: plan.runId, index: step.index, text: scrub(text) }),
    (text) => {
      stepRecord.warnings.push(scrub(text));
      emit({
        type: "step-output",
        runId: plan.runId,
        index: step.index,
        text: `WARNING: ${scrub(text)}`,
      });
    },
  );
  const implementation = STEPS[step.spec.kind] as StepImplementation<StepSpec>;
  stepLog.info({ from: "pending", to: "running", title: step.title }, "step started");
  try {
    const doneBecause = options.fromStep
      ? await implementation.alreadyDone?.(step.spec, context)
      : undefined;
    if (doneBecause) {
      stepRecord.status = "skipped";
      stepRecord.reason = scrub(doneBecause);
      context.output(`Already done: ${doneBecause}`);
    } else {
      await implementation.run(step.spec, context);
      stepRecord.status = "ok";
    }
  } catch (error) {
    stepRecord.status = "failed";
    stepRecord.error = scrub(errorMessage(error));
  }
}

function stepContext(
  plan: Plan,
  options: ExecuteOptions,
  facts: RunFacts,
  log: Logger,
  output: (text: string) => void,
  warn: (text: string) => void,
) {
  return createStepContext({
    runId: plan.runId,
    plan,
    cluster: options.cluster,
    connections: options.connections,
    facts,
    log,
    output,
    warn,
  });
}

function journalFailure(step: PlannedStep | undefined, error: unknown): Outcome {
  if (!step) return { kind: "aborted" };
  return {
    kind: "failed",
    step,
    error: new FailoverError(
      "VERIFY_FAILED",
      `cannot record the run in the journal (${errorMessage(error)}), so no further step runs`,
    ).message,
  };
}

async function freshTopology(options: ExecuteOptions, log: Logger): Promise<Topology | undefined> {
  try {
    return await discoverTopology(options.cluster, options.connections);
  } catch (error) {
    log.error({ err: errorMessage(error) }, "could not read the topology after the run");
    return undefined;
  }
}
