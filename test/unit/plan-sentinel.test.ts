import { describe, expect, it } from "vitest";
import type { SentinelConfig } from "../../src/config/inventory.js";
import { planFailover } from "../../src/plan/planner.js";
import type { Plan, PlanOutcome } from "../../src/plan/types.js";
import { judgeSentinels } from "../../src/topology/sentinel-view.js";
import type { NodeState, SentinelState } from "../../src/topology/types.js";
import { cluster, host, master, replica, topology } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const c = host("machine-c", 13);
const declared: SentinelConfig = {
  hosts: [
    { host: "10.0.0.21", port: 26379 },
    { host: "10.0.0.22", port: 26379 },
    { host: "10.0.0.23", port: 26379 },
  ],
  masterName: "mymaster",
  agreeTimeoutMs: 60_000,
};

/** A Sentinel that answers and names `of` as master, knowing b (priority pb) and c (priority pc). */
function watching(index: number, of = a, priorities = { b: 100, c: 200 }): SentinelState {
  return {
    host: `10.0.0.${21 + index}`,
    port: 26379,
    reachable: true,
    monitors: true,
    master: { host: of.redis.host, port: of.redis.port, hostName: of.name },
    flags: ["master"],
    quorum: 2,
    downAfterMs: 30_000,
    failoverTimeoutMs: 180_000,
    parallelSyncs: 1,
    ckquorum: "ok",
    replicas: [
      {
        host: b.redis.host,
        port: 6379,
        hostName: b.name,
        flags: ["slave"],
        priority: priorities.b,
        offset: 500,
        runId: "bbb",
      },
      {
        host: c.redis.host,
        port: 6379,
        hostName: c.name,
        flags: ["slave"],
        priority: priorities.c,
        offset: 500,
        runId: "ccc",
      },
    ],
  };
}

function liveNodes(): NodeState[] {
  return [
    master(
      a,
      [
        { of: b, offset: 500 },
        { of: c, offset: 500 },
      ],
      { sentinelSubscribers: 3 },
    ),
    replica(b, a, { offset: 500, link: "up", sentinelSubscribers: 3 }),
    replica(c, a, { offset: 500, link: "up", priority: 200, sentinelSubscribers: 3 }),
  ];
}

function planWith(
  sentinels: SentinelState[],
  request: { mode: "switchover"; replica?: string },
  nodes = liveNodes(),
): PlanOutcome {
  const seen = topology(nodes);
  seen.sentinel = judgeSentinels("mymaster", sentinels, nodes);
  return planFailover({
    cluster: cluster([a, b, c], { sentinel: declared }),
    topology: seen,
    hostFacts: new Map(),
    request: { cluster: "cache-prod", ...request },
    runId: "r1",
    now: 1_700_000_000_000,
  });
}

function ok(outcome: PlanOutcome): Plan {
  if (!outcome.ok) throw new Error(`refused: ${outcome.refusal.reason}`);
  return outcome.plan;
}

describe("judging the Sentinels", () => {
  it("agrees when a majority names the master the servers show, with nothing to report", () => {
    const view = judgeSentinels("mymaster", [watching(0), watching(1), watching(2)], liveNodes());
    expect(view.quorum).toBe(2);
    expect(view.agreed?.hostName).toBe("machine-a");
    expect(view.disagreements).toEqual([]);
  });

  it("names Sentinels that disagree with each other and with the servers", () => {
    const view = judgeSentinels(
      "mymaster",
      [
        watching(0, b),
        watching(1, b),
        { host: "10.0.0.23", port: 26379, reachable: false, error: "refused" },
      ],
      liveNodes(),
    );
    expect(view.agreed?.hostName).toBe("machine-b");
    expect(view.disagreements).toEqual([
      "Sentinel 10.0.0.23:26379 does not answer: refused",
      "the Sentinels name machine-b as master, but it answers as a replica",
      "machine-a answers as master, but the Sentinels name machine-b",
    ]);
  });

  it("reports no quorum when the Sentinels split", () => {
    const view = judgeSentinels(
      "mymaster",
      [
        watching(0, a),
        watching(1, b),
        { host: "10.0.0.23", port: 26379, reachable: true, monitors: false },
      ],
      liveNodes(),
    );
    expect(view.agreed).toBeUndefined();
    expect(view.disagreements).toEqual([
      "the Sentinels name different masters: machine-a (1), machine-b (1)",
      "Sentinel 10.0.0.23:26379 does not monitor mymaster",
      "no 2 of the 3 declared Sentinels agree on a master",
    ]);
  });
});

describe("planning through Sentinel", () => {
  it("switchover becomes one Sentinel step with a write pause longer than both waits", () => {
    const plan = ok(planWith([watching(0), watching(1), watching(2)], { mode: "switchover" }));
    const step = plan.steps[1];
    expect(plan.newMaster.name).toBe("machine-b");
    expect(step?.spec).toMatchObject({
      kind: "sentinel-failover",
      masterName: "mymaster",
      quorum: 2,
      oldAnnounced: { host: a.redis.host, port: 6379 },
      targetAnnounced: { host: b.redis.host, port: 6379 },
      timeoutMs: 60_000,
    });
    expect(step?.spec.kind === "sentinel-failover" && (step.spec.pauseMs ?? 0) > 2 * 60_000).toBe(
      true,
    );
    expect(step?.commands.join("\n")).toContain(
      "[sentinel 10.0.0.21:26379] redis> SENTINEL FAILOVER mymaster",
    );
    expect(plan.steps.map((entry) => entry.spec.kind)).not.toContain("switchover");
  });

  it("refuses a named replica Sentinel would not pick, saying which it would and how to change that", () => {
    const outcome = planWith([watching(0), watching(1), watching(2)], {
      mode: "switchover",
      replica: "machine-c",
    });
    if (outcome.ok) throw new Error("planned");
    expect(outcome.refusal.reason).toMatch(
      /would promote machine-b \(priority 100, offset 500\), not machine-c \(priority 200/,
    );
    expect(outcome.refusal.advice).toMatch(
      /CONFIG SET replica-priority on machine-c lower than machine-b's \(100\)/,
    );
  });

  it("refuses when more Sentinels watch the servers than the inventory declares", () => {
    const nodes = liveNodes().map((node) => ({ ...node, sentinelSubscribers: 4 }));
    const outcome = planWith(
      [watching(0), watching(1), watching(2)],
      { mode: "switchover" },
      nodes,
    );
    if (outcome.ok) throw new Error("planned");
    expect(outcome.refusal.reason).toMatch(
      /4 Sentinels watch machine-a .* the inventory declares 3/,
    );
  });

  it("refuses when no majority of the Sentinels names the old master", () => {
    const gone: SentinelState = {
      host: "10.0.0.2x",
      port: 26379,
      reachable: false,
      error: "timeout",
    };
    const outcome = planWith([watching(0), gone, gone], { mode: "switchover" });
    if (outcome.ok) throw new Error("planned");
    expect(outcome.refusal.reason).toMatch(
      /the Sentinels do not agree that machine-a is mymaster's master/,
    );
  });
});
