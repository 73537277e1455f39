import type { RunEvent, RunResult } from "../../engine/events.js";
import type { Plan, Refusal } from "../../plan/types.js";

/**
 * `--json`: one object per line, `type` one of plan, step, result. A contract: outside
 * scripts parse these, so fields may be added but never renamed.
 */
export function planLine(plan: Plan): string {
  return JSON.stringify({
    type: "plan",
    runId: plan.runId,
    cluster: plan.cluster,
    mode: plan.mode,
    modeReason: plan.modeReason,
    oldMaster: plan.oldMaster,
    newMaster: { host: plan.newMaster.host, port: plan.newMaster.port, name: plan.newMaster.name },
    exposure: plan.exposure,
    candidates: plan.candidates,
    steps: plan.steps.map(({ index, title, host, commands, risk }) => ({
      index,
      title,
      host,
      commands,
      risk,
    })),
    risks: plan.risks,
    topology: plan.topology.nodes,
  });
}

/** Turns run events into `step` lines: one when a step starts, one with its whole output when it ends. */
export class StepLines {
  readonly #output = new Map<number, string[]>();
  readonly #titles = new Map<number, string>();

  lineFor(event: RunEvent): string | undefined {
    switch (event.type) {
      case "step-started":
        this.#output.set(event.step.index, []);
        this.#titles.set(event.step.index, event.step.title);
        return JSON.stringify({
          type: "step",
          index: event.step.index,
          title: event.step.title,
          status: "running",
          output: "",
          durationMs: 0,
        });
      case "step-output":
        this.#output.get(event.index)?.push(event.text);
        return undefined;
      case "step-finished":
        return JSON.stringify({
          type: "step",
          index: event.index,
          title: event.title,
          status: event.status,
          output: (this.#output.get(event.index) ?? []).join("\n"),
          durationMs: event.durationMs,
          ...(event.error ? { error: event.error } : {}),
          ...(event.reason ? { reason: event.reason } : {}),
          warnings: event.warnings,
        });
      default:
        return undefined;
    }
  }
}

export function resultLine(result: RunResult): string {
  return JSON.stringify({
    type: "result",
    ok: result.ok,
    newMaster: result.newMaster
      ? { host: result.newMaster.host, port: result.newMaster.port, name: result.newMaster.name }
      : null,
    runId: result.runId,
    cluster: result.cluster,
    mode: result.mode,
    aborted: result.aborted,
    durationMs: result.durationMs,
    failedStep: result.failedStep ?? null,
    warnings: result.warnings,
    nextActions: result.nextActions,
    topology: result.topologyAfter?.nodes ?? null,
  });
}

export function refusalLine(refusal: Refusal, cluster: string): string {
  return JSON.stringify({ type: "result", ok: false, newMaster: null, cluster, refused: refusal });
}
