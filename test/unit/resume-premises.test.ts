import { describe, expect, it } from "vitest";
import { resumeProblems } from "../../src/engine/resume-premises.js";
import { planFailover } from "../../src/plan/planner.js";
import type { Plan } from "../../src/plan/types.js";
import { cluster, down, facts, host, master, replica, topology } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const c = host("machine-c", 13);

/** Promote: A down, B (most advanced) and C its replicas. */
function promotePlan(): Plan {
  const outcome = planFailover({
    runId: "fo-test",
    now: 0,
    cluster: cluster([a, b, c]),
    topology: topology([
      down(a),
      replica(b, a, { offset: 900, link: "down", downSince: 30 }),
      replica(c, a, { offset: 800, link: "down", downSince: 30 }),
    ]),
    request: { cluster: "cache-prod", mode: "promote" },
    hostFacts: new Map(),
  });
  if (!outcome.ok) throw new Error(outcome.refusal.reason);
  return outcome.plan;
}

/** Replace: A down, B its replica, spare C silent (the copy's command starts it). */
function replacePlan(): Plan {
  const outcome = planFailover({
    runId: "fo-test",
    now: 0,
    cluster: cluster([a, b, c]),
    topology: topology([
      down(a),
      replica(b, a, { offset: 900, link: "down", downSince: 30 }),
      down(c),
    ]),
    request: { cluster: "cache-prod", mode: "replace" },
    hostFacts: new Map([
      ["machine-b", facts("machine-b")],
      ["machine-c", facts("machine-c")],
    ]),
  });
  if (!outcome.ok) throw new Error(outcome.refusal.reason);
  return outcome.plan;
}

const stepOf = (plan: Plan, kind: string) =>
  plan.steps.find((step) => step.spec.kind === kind)?.index ?? 0;

describe("what Resume re-checks before continuing", () => {
  it("nothing changed: the old master is still down, the new master is as the done steps left it", () => {
    const plan = promotePlan();
    const after = stepOf(plan, "promote") + 1;
    const now = topology([
      down(a),
      master(b, [{ of: c, offset: 900 }]),
      replica(c, a, { offset: 800, link: "down", downSince: 40 }),
    ]);
    expect(resumeProblems(plan, now, after)).toEqual([]);
  });

  it("someone repaired the old master by hand: it answers as master again", () => {
    const plan = promotePlan();
    const now = topology([
      master(a, [
        { of: b, offset: 1000 },
        { of: c, offset: 1000 },
      ]),
      replica(b, a, { offset: 1000, link: "up" }),
      replica(c, a, { offset: 1000, link: "up" }),
    ]);
    const problems = resumeProblems(plan, now, stepOf(plan, "promote") + 1);
    expect(problems.join("; ")).toMatch(/machine-a answers as master again/);
    expect(problems.join("; ")).toMatch(/new master machine-b is not answering as master/);
  });

  it("the step in flight may or may not have promoted the new master: both are as planned", () => {
    const plan = promotePlan();
    const promote = stepOf(plan, "promote");
    const before = topology([
      down(a),
      replica(b, a, { offset: 900, link: "down", downSince: 40 }),
      replica(c, a, { offset: 800, link: "down", downSince: 40 }),
    ]);
    const afterIt = topology([
      down(a),
      master(b),
      replica(c, a, { offset: 800, link: "down", downSince: 40 }),
    ]);
    expect(resumeProblems(plan, before, promote, true)).toEqual([]);
    expect(resumeProblems(plan, afterIt, promote, true)).toEqual([]);
  });

  it("someone else made another server master", () => {
    const plan = promotePlan();
    const now = topology([down(a), master(b), master(c)]);
    expect(resumeProblems(plan, now, stepOf(plan, "promote") + 1).join("; ")).toMatch(
      /machine-c answers as master/,
    );
  });

  it("a copy that starts the spare: after it, the spare may be silent (not started yet) or the new master", () => {
    const plan = replacePlan();
    const start = stepOf(plan, "start-redis");
    const replicaOfA = replica(b, a, { offset: 900, link: "down", downSince: 40 });
    expect(resumeProblems(plan, topology([down(a), replicaOfA, down(c)]), start)).toEqual([]);
    expect(resumeProblems(plan, topology([down(a), replicaOfA, master(c)]), start)).toEqual([]);
    // In flight too.
    const copy = stepOf(plan, "copy-rdb");
    expect(resumeProblems(plan, topology([down(a), replicaOfA, master(c)]), copy, true)).toEqual(
      [],
    );
    // Not the spare as someone else's replica, and B still B.
    expect(
      resumeProblems(
        plan,
        topology([down(a), replicaOfA, replica(c, b, { offset: 900, link: "up" })]),
        start,
      ).join("; "),
    ).toMatch(/new master machine-c answers as a replica/);
    expect(
      resumeProblems(plan, topology([down(a), master(b), master(c)]), start).join("; "),
    ).toMatch(/machine-b/);
  });

  it("before the copy that starts the spare, the spare must still be silent", () => {
    const plan = replacePlan();
    const replicaOfA = replica(b, a, { offset: 900, link: "down", downSince: 40 });
    expect(
      resumeProblems(
        plan,
        topology([down(a), replicaOfA, master(c)]),
        stepOf(plan, "copy-rdb"),
      ).join("; "),
    ).toMatch(/Redis now runs on machine-c/);
  });
});
