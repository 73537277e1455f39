import type { RunResult, StepRecord } from "../../src/engine/events.js";
import { planFailover } from "../../src/plan/planner.js";
import type { FailoverRequest, Plan, PlannedStep } from "../../src/plan/types.js";
import type { RequestState, RequestView, StepView } from "../../src/slack/types.js";
import type { NodeState, Topology } from "../../src/topology/types.js";
import { cluster, down, facts, host, master, replica, topology } from "../unit/fixtures.js";

/** Plans, run results and views for the Slack message builders. */

export const a = host("machine-a", 11);
export const b = host("machine-b", 12);
export const c = host("machine-c", 13);

export const REQUESTER = "U0ALICE";
export const APPROVER = "U0BOB";
export const RUN_ID = "fo-20231114-abc";
/** 2023-11-14 22:13:20 UTC. */
export const NOW = 1_700_000_000_000;

function planned(input: {
  topology: Topology;
  request?: Partial<FailoverRequest>;
  withFacts?: boolean;
}): Plan {
  const outcome = planFailover({
    cluster: cluster([a, b, c]),
    topology: input.topology,
    hostFacts: new Map(
      input.withFacts ? [facts("machine-b"), facts("machine-c")].map((f) => [f.name, f]) : [],
    ),
    request: { cluster: "cache-prod", ...input.request },
    runId: RUN_ID,
    now: NOW,
  });
  if (!outcome.ok) throw new Error(`fixture plan refused: ${outcome.refusal.reason}`);
  return outcome.plan;
}

/** Master down, machine-b an eligible replica: a real PROMOTE plan from the planner. */
export function promotePlan(): Plan {
  return planned({
    topology: topology([
      down(a),
      replica(b, a, { offset: 900, link: "down", downSince: 30 }),
      replica(c, a, { offset: 850, link: "down", downSince: 31 }),
    ]),
  });
}

/** Master up: a SWITCHOVER plan. */
export function switchoverPlan(): Plan {
  return planned({
    topology: topology([
      master(a, [
        { of: b, offset: 500 },
        { of: c, offset: 500 },
      ]),
      replica(b, a, { offset: 500, link: "up" }),
      replica(c, a, { offset: 500, link: "up" }),
    ]),
  });
}

/** No replica may be promoted, a spare exists: a REPLACE plan. */
export function replacePlan(): Plan {
  return planned({
    topology: topology([
      down(a),
      replica(b, a, { offset: 900, link: "down", priority: 0 }),
      down(c),
    ]),
    withFacts: true,
  });
}

const long = (label: string, n: number) =>
  `${label} ${"x".repeat(Math.max(0, n - label.length - 1))}`;

/** 200 servers answering, the last one down with a long error. */
export function manyNodes(count: number): NodeState[] {
  const nodes: NodeState[] = [];
  for (let i = 0; i < count; i++) {
    const config = host(`replica-${String(i).padStart(3, "0")}`, (i % 250) + 1);
    nodes.push(replica(config, a, { offset: 1000 + i, link: "up" }));
  }
  return nodes;
}

/** A plan pushed past every limit: 50 steps with long commands, 200 hosts, nasty strings. */
export function hugePlan(): Plan {
  const base = promotePlan();
  const steps: PlannedStep[] = Array.from({ length: 50 }, (_, i) => ({
    index: i + 1,
    title: `Step number ${i + 1} with a long title <script>alert(1)</script> & more`,
    host: `machine-${i}`,
    commands: Array.from({ length: 6 }, (_, k) =>
      long(`redis-cli -h 10.0.0.${k} CONFIG SET dir /var/lib/redis-${i}-${k} &&`, 300),
    ),
    risk: long("destroys data & <everything>", 200),
    spec: { kind: "promote", host: { name: `machine-${i}`, host: "10.0.0.1", port: 6379 } },
  }));
  return {
    ...base,
    modeReason: long("the master is down <b>&</b>", 4000),
    exposure: long("writes after offset 900 may be lost", 3500),
    steps,
    risks: Array.from({ length: 30 }, (_, i) => long(`risk ${i} \`\`\` <@U0EVIL> <!channel>`, 500)),
    candidates: Array.from({ length: 200 }, (_, i) => ({
      name: `replica-${i}`,
      offset: 1000 + i,
      behindBestBytes: 199 - i,
      lastHeardSecondsAgo: i,
      priority: 100,
      eligible: i % 3 !== 0,
      ...(i % 3 === 0 ? { reason: "replica-priority 0 (configured never to become master)" } : {}),
    })),
    topology: { ...base.topology, nodes: manyNodes(200) },
  };
}

export function view(
  plan: Plan,
  state: RequestState,
  extra: Partial<RequestView> = {},
): RequestView {
  return {
    runId: plan.runId,
    cluster: plan.cluster,
    plan,
    state,
    requester: REQUESTER,
    expiresAt: NOW + 15 * 60_000,
    ...extra,
  };
}

export function records(
  plan: Plan,
  failAt?: number,
  error = "PROMOTE refused: READONLY",
): StepRecord[] {
  return plan.steps.map((step): StepRecord => {
    if (failAt === undefined || step.index < failAt)
      return {
        index: step.index,
        title: step.title,
        status: "ok",
        durationMs: 120 * step.index,
        warnings: [],
      };
    if (step.index === failAt)
      return {
        index: step.index,
        title: step.title,
        status: "failed",
        durationMs: 2000,
        error,
        warnings: [],
      };
    return {
      index: step.index,
      title: step.title,
      status: "skipped",
      reason: "an earlier step failed",
      warnings: [],
    };
  });
}

export function successResult(plan: Plan, overrides: Partial<RunResult> = {}): RunResult {
  const newMaster = plan.newMaster;
  return {
    runId: plan.runId,
    cluster: plan.cluster,
    mode: plan.mode,
    ok: true,
    aborted: false,
    newMaster,
    startedAt: NOW + 60_000,
    durationMs: 12_345,
    steps: records(plan),
    topologyAfter: {
      cluster: plan.cluster,
      observedAt: NOW + 75_000,
      nodes: [
        master(b, [{ of: c, offset: 1200 }]),
        replica(c, b, { offset: 1200, link: "up" }),
        down(a),
      ],
    },
    warnings: ["machine-a could not be fenced: it did not answer"],
    nextActions: [
      "machine-a must not come back as a master: when it answers, run `redis-failover fence cache-prod machine-a`",
    ],
    facts: {},
    ...overrides,
  };
}

export function failedResult(
  plan: Plan,
  failAt: number,
  error = "PROMOTE refused: READONLY",
): RunResult {
  const failed = plan.steps[failAt - 1];
  return successResult(plan, {
    ok: false,
    steps: records(plan, failAt, error),
    failedStep: { index: failAt, title: failed?.title ?? "?", error },
    nextActions: ["Check every server's role with /redis status cache-prod"],
  });
}

export function abortedResult(plan: Plan, after: number): RunResult {
  return successResult(plan, {
    ok: false,
    aborted: true,
    steps: plan.steps.map(
      (step): StepRecord =>
        step.index <= after
          ? { index: step.index, title: step.title, status: "ok", durationMs: 100, warnings: [] }
          : {
              index: step.index,
              title: step.title,
              status: "skipped",
              reason: "aborted",
              warnings: [],
            },
    ),
  });
}

export function stepView(plan: Plan, index: number, extra: Partial<StepView> = {}): StepView {
  const step = plan.steps[index - 1];
  if (!step) throw new Error(`no step ${index}`);
  return { step, total: plan.steps.length, status: "running", output: "", warnings: [], ...extra };
}
