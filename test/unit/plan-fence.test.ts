import { describe, expect, it } from "vitest";
import { planFence } from "../../src/plan/plan-fence.js";
import { ref } from "../../src/plan/planner.js";
import type { PlanOutcome } from "../../src/plan/types.js";
import { assessTopology } from "../../src/topology/assess.js";
import { cluster, down, host, master, replica, topology } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const d = host("machine-d", 14);
const inventory = cluster([a, b, d], {
  discovery: { url: "redis://10.0.0.5:6379/0", key: "config:redis:cache-prod" },
});
const at = (config: typeof a) => ({ host: config.redis.host, port: config.redis.port });
const lastRun = { runId: "fo-1", newMaster: ref(b) };

function refusal(outcome: PlanOutcome) {
  if (outcome.ok) throw new Error("expected a refusal");
  return outcome.refusal;
}

describe("planFence: which server is the current master", () => {
  it("trusts the journal's last run when two masters answer and no replica tells them apart", () => {
    const outcome = planFence({
      cluster: inventory,
      topology: topology([master(a, [], { keys: 1100 }), master(b)]),
      runId: "fo-2",
      now: 0,
      hint: { lastRun },
      discovery: { value: at(b) },
    });
    if (!outcome.ok) throw new Error(outcome.refusal.reason);
    expect(outcome.plan.newMaster.name).toBe("machine-b");
    expect(outcome.plan.steps.map((step) => step.spec.kind)).toEqual(["fence", "announce"]);
    expect(outcome.plan.modeReason).toMatch(/the journal \(run fo-1 made it master\)/);
  });

  it("falls back to the discovery key, then to the replicas", () => {
    const byKey = planFence({
      cluster: inventory,
      topology: topology([master(a), master(b)]),
      runId: "fo-2",
      now: 0,
      discovery: { value: at(b) },
    });
    expect(byKey.ok && byKey.plan.newMaster.name).toBe("machine-b");
    const byReplicas = planFence({
      cluster: inventory,
      topology: topology([
        master(a),
        master(b, [{ of: d, offset: 10 }]),
        replica(d, b, { offset: 10, link: "up" }),
      ]),
      runId: "fo-2",
      now: 0,
    });
    expect(byReplicas.ok && byReplicas.plan.newMaster.name).toBe("machine-b");
  });

  it("refuses when the journal and the discovery key disagree, naming both", () => {
    const reason = refusal(
      planFence({
        cluster: inventory,
        topology: topology([master(a), master(b)]),
        runId: "fo-2",
        now: 0,
        hint: { lastRun },
        discovery: { value: at(a) },
      }),
    ).reason;
    expect(reason).toMatch(/records disagree .*journal .*machine-b.*discovery key .*machine-a/);
  });

  it("refuses when the trusted master is no longer a master", () => {
    const reason = refusal(
      planFence({
        cluster: inventory,
        topology: topology([master(a), replica(b, a, { offset: 5, link: "up" }), down(d)]),
        runId: "fo-2",
        now: 0,
        hint: { lastRun },
      }),
    ).reason;
    expect(reason).toMatch(
      /names machine-b as the current master, but it is a replica of machine-a/,
    );
  });
});

describe("assessTopology: a silent master", () => {
  it("counts a replica that missed two pings as a witness before repl-timeout marks its link down", () => {
    const silent = assessTopology(
      topology([
        down(a, "no answer within 3000 ms"),
        replica(b, a, { offset: 5, link: "up", replPingPeriod: 10 }),
      ]),
    );
    expect(silent.master?.state).toBe("unconfirmed");
    const node = replica(b, a, { offset: 5, link: "up", replPingPeriod: 10 });
    if (node.master) node.master.lastIoSecondsAgo = 21;
    const confirmed = assessTopology(topology([down(a, "no answer within 3000 ms"), node]));
    expect(confirmed.master?.state).toBe("down");
    expect(confirmed.evidence.join("\n")).toMatch(
      /machine-b: master_link_status:up but nothing heard from the master for 21 s \(more than twice repl-ping-replica-period, 20 s\)/,
    );
  });
});

describe("hand-out redis-cli commands", () => {
  it("carry the cluster's TLS, ACL user and password prompt", async () => {
    const { fenceCommands } = await import("../../src/engine/steps/fence.js");
    const [replicaOf] = fenceCommands(
      { host: ref(a), newMaster: ref(b) },
      {
        tls: { caFile: "/etc/redis/ca.pem", servername: "redis.internal" },
        redisUsernameEnv: "CACHE_USER",
        redisPasswordEnv: "CACHE_PASSWORD",
      },
    );
    expect(replicaOf).toBe(
      `redis-cli -h ${a.redis.host} -p ${a.redis.port} --tls --cacert /etc/redis/ca.pem --sni redis.internal --user "$CACHE_USER" --askpass REPLICAOF ${b.redis.host} ${b.redis.port}`,
    );
  });
});
