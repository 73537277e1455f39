import { describe, expect, it } from "vitest";
import { planLine, refusalLine, resultLine, StepLines } from "../../src/cli/render/json-lines.js";
import type { RunEvent, RunResult } from "../../src/engine/events.js";
import { planFailover } from "../../src/plan/planner.js";
import type { Plan, PlannedStep } from "../../src/plan/types.js";
import { cluster, down, host, replica, topology } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const c = host("machine-c", 13);

function promotePlan(): Plan {
  const outcome = planFailover({
    cluster: cluster([a, b, c]),
    topology: topology([
      down(a),
      replica(b, a, { offset: 900, link: "down", downSince: 30 }),
      replica(c, a, { offset: 800, link: "down", downSince: 30 }),
    ]),
    hostFacts: new Map(),
    request: { cluster: "cache-prod" },
    runId: "fo-json",
    now: 0,
  });
  if (!outcome.ok) throw new Error(outcome.refusal.reason);
  return outcome.plan;
}

const plan = promotePlan();
const TYPES = ["plan", "step", "result"];

/** Every line is exactly one JSON object with a known type; returns it parsed. */
function parseLine(line: string | undefined): Record<string, unknown> {
  expect(typeof line).toBe("string");
  expect(line).not.toContain("\n");
  const parsed = JSON.parse(line ?? "") as unknown;
  expect(parsed).toBeTypeOf("object");
  expect(Array.isArray(parsed)).toBe(false);
  const object = parsed as Record<string, unknown>;
  expect(TYPES).toContain(object.type);
  return object;
}

function step(index: number): PlannedStep {
  const found = plan.steps[index - 1];
  if (!found) throw new Error(`no step ${index}`);
  return found;
}

const started = (index: number): RunEvent => ({
  type: "step-started",
  runId: plan.runId,
  step: step(index),
  at: 1,
});
const output = (index: number, text: string): RunEvent => ({
  type: "step-output",
  runId: plan.runId,
  index,
  text,
});
const finished = (
  index: number,
  status: "ok" | "failed" | "skipped",
  extra: { error?: string; reason?: string; durationMs?: number; warnings?: string[] } = {},
): RunEvent => ({
  type: "step-finished",
  runId: plan.runId,
  index,
  title: step(index).title,
  status,
  warnings: extra.warnings ?? [],
  durationMs: extra.durationMs ?? 0,
  ...(extra.error !== undefined ? { error: extra.error } : {}),
  ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
});

function result(ok: boolean, overrides: Partial<RunResult> = {}): RunResult {
  return {
    runId: plan.runId,
    cluster: plan.cluster,
    mode: plan.mode,
    ok,
    aborted: false,
    startedAt: 0,
    durationMs: 1234,
    steps: [],
    warnings: [],
    nextActions: [],
    facts: {},
    ...(ok ? { newMaster: plan.newMaster } : {}),
    ...overrides,
  };
}

describe("planLine", () => {
  const line = parseLine(planLine(plan));

  it("is one object of type plan", () => {
    expect(line.type).toBe("plan");
    expect(line.runId).toBe("fo-json");
    expect(line.mode).toBe("promote");
  });

  it("carries the new master's host, port and name", () => {
    expect(line.newMaster).toEqual({ host: "10.0.0.12", port: 6379, name: "machine-b" });
  });

  it("lists every step with its index, title and exact commands", () => {
    const steps = line.steps as Array<Record<string, unknown>>;
    expect(steps).toHaveLength(plan.steps.length);
    plan.steps.forEach((planned, i) => {
      expect(steps[i]).toMatchObject({
        index: planned.index,
        title: planned.title,
        commands: planned.commands,
      });
    });
  });

  it("leaves the internal step spec out", () => {
    const steps = line.steps as Array<Record<string, unknown>>;
    for (const entry of steps) expect(entry).not.toHaveProperty("spec");
  });
});

describe("StepLines", () => {
  it("emits a running step line when a step starts", () => {
    const lines = new StepLines();
    expect(parseLine(lines.lineFor(started(1)))).toEqual({
      type: "step",
      index: 1,
      title: step(1).title,
      status: "running",
      output: "",
      durationMs: 0,
    });
  });

  it("emits nothing for step output, then the whole output when the step ends", () => {
    const lines = new StepLines();
    lines.lineFor(started(2));
    expect(lines.lineFor(output(2, "[machine-b] redis> REPLICAOF NO ONE"))).toBeUndefined();
    expect(lines.lineFor(output(2, "  -> OK"))).toBeUndefined();
    const line = parseLine(lines.lineFor(finished(2, "ok", { durationMs: 87 })));
    expect(line).toMatchObject({
      type: "step",
      index: 2,
      title: step(2).title,
      status: "ok",
      output: "[machine-b] redis> REPLICAOF NO ONE\n  -> OK",
      durationMs: 87,
    });
  });

  it("keeps multi-line output on one JSON line", () => {
    const lines = new StepLines();
    lines.lineFor(started(1));
    lines.lineFor(output(1, "first\nsecond"));
    const raw = lines.lineFor(finished(1, "ok"));
    expect(raw?.split("\n")).toHaveLength(1);
    expect(parseLine(raw).output).toBe("first\nsecond");
  });

  it("keeps the output of each step apart", () => {
    const lines = new StepLines();
    lines.lineFor(started(1));
    lines.lineFor(output(1, "one"));
    lines.lineFor(finished(1, "ok"));
    lines.lineFor(started(2));
    lines.lineFor(output(2, "two"));
    expect(parseLine(lines.lineFor(finished(2, "ok"))).output).toBe("two");
  });

  it("reports a failed step with status failed and its error", () => {
    const lines = new StepLines();
    lines.lineFor(started(2));
    const line = parseLine(
      lines.lineFor(finished(2, "failed", { error: "VERIFY_FAILED", durationMs: 5 })),
    );
    expect(line).toMatchObject({ status: "failed", error: "VERIFY_FAILED", durationMs: 5 });
  });

  it("reports a step skipped without starting, with empty output and its reason", () => {
    const lines = new StepLines();
    const line = parseLine(
      lines.lineFor(finished(3, "skipped", { reason: "not run: step 2 failed" })),
    );
    expect(line).toMatchObject({
      type: "step",
      index: 3,
      status: "skipped",
      output: "",
      durationMs: 0,
      reason: "not run: step 2 failed",
    });
  });

  it("uses only the statuses running, ok, failed and skipped", () => {
    const lines = new StepLines();
    const statuses = [
      lines.lineFor(started(1)),
      lines.lineFor(finished(1, "ok")),
      lines.lineFor(started(2)),
      lines.lineFor(finished(2, "failed", { error: "x" })),
      lines.lineFor(finished(3, "skipped")),
    ].map((raw) => parseLine(raw).status);
    expect(statuses).toEqual(["running", "ok", "running", "failed", "skipped"]);
  });

  it("emits nothing for run-started and run-finished", () => {
    const lines = new StepLines();
    expect(lines.lineFor({ type: "run-started", runId: plan.runId, plan, at: 0 })).toBeUndefined();
    expect(
      lines.lineFor({ type: "run-finished", runId: plan.runId, result: result(true) }),
    ).toBeUndefined();
  });
});

describe("resultLine", () => {
  it("carries ok and the new master's host and port on success", () => {
    const line = parseLine(resultLine(result(true)));
    expect(line.type).toBe("result");
    expect(line.ok).toBe(true);
    expect(line.newMaster).toEqual({ host: "10.0.0.12", port: 6379, name: "machine-b" });
    expect(line.failedStep).toBeNull();
  });

  it("carries ok false and a null new master on failure", () => {
    const line = parseLine(
      resultLine(
        result(false, {
          failedStep: { index: 2, title: step(2).title, error: "boom" },
          nextActions: ["check machine-b"],
        }),
      ),
    );
    expect(line.ok).toBe(false);
    expect(line.newMaster).toBeNull();
    expect(line.failedStep).toEqual({ index: 2, title: step(2).title, error: "boom" });
    expect(line.nextActions).toEqual(["check machine-b"]);
  });

  it("carries a null new master when the run was aborted", () => {
    const line = parseLine(resultLine(result(false, { aborted: true })));
    expect(line).toMatchObject({ ok: false, aborted: true, newMaster: null });
  });
});

describe("refusalLine", () => {
  it("is a result with ok false, a null new master and the refusal", () => {
    const line = parseLine(
      refusalLine({ reason: "machine-a still answers", recommendedMode: "switchover" }, "x"),
    );
    expect(line).toEqual({
      type: "result",
      ok: false,
      newMaster: null,
      cluster: "x",
      refused: { reason: "machine-a still answers", recommendedMode: "switchover" },
    });
  });
});
