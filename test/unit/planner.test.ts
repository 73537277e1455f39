import { describe, expect, it } from "vitest";
import { type PlanInput, planFailover } from "../../src/plan/planner.js";
import type { FailoverRequest, Plan, PlanOutcome } from "../../src/plan/types.js";
import type { HostFacts } from "../../src/topology/types.js";
import { cluster, down, facts, host, master, replica, topology } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const c = host("machine-c", 13);
const d = host("machine-d", 14);

function plan(
  input: Omit<PlanInput, "runId" | "now" | "request" | "hostFacts"> & {
    request?: Partial<FailoverRequest>;
    hostFacts?: HostFacts[];
  },
): PlanOutcome {
  return planFailover({
    runId: "fo-test",
    now: 0,
    ...input,
    request: { cluster: "cache-prod", ...input.request },
    hostFacts: new Map((input.hostFacts ?? []).map((fact) => [fact.name, fact])),
  });
}

function ok(outcome: PlanOutcome): Plan {
  if (!outcome.ok) throw new Error(`expected a plan, got a refusal: ${outcome.refusal.reason}`);
  return outcome.plan;
}

function refused(outcome: PlanOutcome) {
  if (outcome.ok) throw new Error(`expected a refusal, got a ${outcome.plan.mode} plan`);
  return outcome.refusal;
}

const kinds = (p: Plan) => p.steps.map((step) => step.spec.kind);

describe("mode selection", () => {
  it("chooses switchover when the master still answers", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b]),
        topology: topology([
          master(a, [{ of: b, offset: 500 }]),
          replica(b, a, { offset: 500, link: "up" }),
        ]),
      }),
    );
    expect(p.mode).toBe("switchover");
    expect(p.modeReason).toMatch(/machine-a answers as master/);
    expect(kinds(p)).toEqual(["recheck", "switchover", "fence", "announce"]);
  });

  it("chooses promote when the master is down from every vantage point and a replica is eligible", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 900, link: "down", downSince: 30 }),
          down(c),
        ]),
      }),
    );
    expect(p.mode).toBe("promote");
    expect(p.newMaster.name).toBe("machine-b");
    expect(p.modeReason).toMatch(/machine-a is down/);
  });

  it("falls back to replace when no replica may be promoted but a spare exists", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 900, link: "down", priority: 0 }),
          down(c),
        ]),
        hostFacts: [facts("machine-b"), facts("machine-c")],
      }),
    );
    expect(p.mode).toBe("replace");
    expect(p.newMaster.name).toBe("machine-c");
    expect(p.modeReason).toMatch(/replica-priority 0/);
  });

  it("refuses replace and promote while the master answers, recommending switchover", () => {
    for (const mode of ["replace", "promote"] as const) {
      const refusal = refused(
        plan({
          cluster: cluster([a, b, c]),
          topology: topology([
            master(a, [{ of: b, offset: 5 }]),
            replica(b, a, { offset: 5, link: "up" }),
            down(c),
          ]),
          request: { mode },
        }),
      );
      expect(refusal.recommendedMode).toBe("switchover");
      expect(refusal.reason).toMatch(/still answers as master/);
    }
  });

  it("refuses when the bot cannot reach the master but a replica still can (partition)", () => {
    const refusal = refused(
      plan({
        cluster: cluster([a, b]),
        topology: topology([down(a, "timed out"), replica(b, a, { offset: 5, link: "up" })]),
        request: { mode: "promote" },
      }),
    );
    expect(refusal.reason).toMatch(/not confirmed down/);
    expect(refusal.reason).toMatch(/machine-b: master_link_status:up/);
  });

  it("refuses switchover when the master is down, recommending promote", () => {
    const refusal = refused(
      plan({
        cluster: cluster([a, b]),
        topology: topology([down(a), replica(b, a, { offset: 5, link: "down" })]),
        request: { mode: "switchover" },
      }),
    );
    expect(refusal.recommendedMode).toBe("promote");
  });

  it("refuses unknown host names before looking at anything else", () => {
    const refusal = refused(
      plan({
        cluster: cluster([a, b]),
        topology: topology([down(a), down(b)]),
        request: { spare: "machine-z" },
      }),
    );
    expect(refusal.reason).toBe(
      'cluster cache-prod has no host "machine-z"; its hosts are: machine-a, machine-b',
    );
  });

  it("refuses when no replica is reachable", () => {
    const refusal = refused(
      plan({ cluster: cluster([a, b]), topology: topology([down(a), down(b)]) }),
    );
    expect(refusal.reason).toMatch(/no server answers/);
  });

  it("refuses a split brain: a second master with data", () => {
    const refusal = refused(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          master(a, [{ of: b, offset: 10 }]),
          replica(b, a, { offset: 10, link: "up" }),
          master(c, [], { keys: 50 }),
        ]),
      }),
    );
    expect(refusal.reason).toMatch(/machine-c also answers as a master \(50 keys/);
  });
});

describe("promote", () => {
  it("ranks candidates like Sentinel: priority 0 and syncing replicas skipped, lowest priority, then highest offset", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b, c, d]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 800, link: "down", priority: 0, downSince: 3 }),
          replica(c, a, { offset: 1000, link: "down", priority: 50, downSince: 3 }),
          replica(d, a, { offset: 1000, link: "down", priority: 100, downSince: 3 }),
        ]),
        request: { mode: "promote" },
      }),
    );
    expect(p.newMaster.name).toBe("machine-c");
    expect(
      p.candidates.map((candidate) => [
        candidate.name,
        candidate.eligible,
        candidate.behindBestBytes,
      ]),
    ).toEqual([
      ["machine-c", true, 0],
      ["machine-d", true, 0],
      ["machine-b", false, 200],
    ]);
    expect(p.candidates[2]?.reason).toMatch(/replica-priority 0/);
    expect(kinds(p)).toEqual(["recheck", "promote", "replicate", "replicate", "fence", "announce"]);
  });

  it("promotes a replica that is ahead of the one replica-priority prefers, rather than repointing it", () => {
    const p = ok(
      plan({
        cluster: cluster([a, c, d]),
        topology: topology([
          down(a),
          replica(c, a, { offset: 800, link: "down", priority: 50, downSince: 3 }),
          replica(d, a, { offset: 990, link: "down", priority: 100, downSince: 3 }),
        ]),
        request: { mode: "promote" },
      }),
    );
    expect(p.newMaster.name).toBe("machine-d");
    expect(p.modeReason).toMatch(/machine-d is promoted rather than machine-c .* 190 bytes/);
  });

  it("refuses to repoint a replica that is ahead when it cannot be promoted, or when another was named", () => {
    const priorityZero = refused(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 1000, link: "down", priority: 0, downSince: 3 }),
          replica(c, a, { offset: 800, link: "down", downSince: 3 }),
        ]),
        request: { mode: "promote" },
      }),
    );
    expect(priorityZero.reason).toMatch(
      /machine-b is 200 bytes ahead of machine-c: making it a replica of machine-c would discard writes only it holds/,
    );
    expect(priorityZero.advice).toMatch(/replica-priority/);
    const named = refused(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 1000, link: "down", downSince: 3 }),
          replica(c, a, { offset: 800, link: "down", downSince: 3 }),
        ]),
        request: { mode: "promote", replica: "machine-c" },
      }),
    );
    expect(named.advice).toMatch(/--replica machine-b/);
  });

  it("excludes a replica that lost the master far longer ago than the others (10 × repl-timeout)", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 100, link: "down", priority: 10, downSince: 3_700 }),
          replica(c, a, { offset: 900, link: "down", priority: 50, downSince: 3 }),
        ]),
        request: { mode: "promote" },
      }),
    );
    expect(p.newMaster.name).toBe("machine-c");
    expect(p.candidates.find((candidate) => candidate.name === "machine-b")?.reason).toMatch(
      /3697 s before the freshest replica lost it, more than 10 × repl-timeout \(600 s/,
    );
  });

  it("prefers the highest offset among equal priorities and never a replica in the middle of a full sync", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 5000, link: "down", syncing: true }),
          replica(c, a, { offset: 4000, link: "down" }),
        ]),
        request: { mode: "promote" },
      }),
    );
    expect(p.newMaster.name).toBe("machine-c");
    expect(p.candidates.find((candidate) => candidate.name === "machine-b")?.reason).toMatch(
      /full sync/,
    );
  });

  it("refuses a --replica that is configured never to become master", () => {
    const refusal = refused(
      plan({
        cluster: cluster([a, b]),
        topology: topology([down(a), replica(b, a, { offset: 5, link: "down", priority: 0 })]),
        request: { mode: "promote", replica: "machine-b" },
      }),
    );
    expect(refusal.reason).toMatch(/machine-b cannot be promoted: replica-priority 0/);
  });

  it("adds a stopped spare as a new replica, moving its old files aside so it starts empty", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([down(a), replica(b, a, { offset: 5, link: "down" }), down(c)]),
        hostFacts: [
          facts("machine-c", {
            rdbExists: true,
            rdbBytes: 10,
            aofFiles: ["/var/lib/redis/appendonlydir"],
          }),
        ],
        request: { mode: "promote", spare: "machine-c" },
      }),
    );
    expect(kinds(p)).toEqual([
      "recheck",
      "promote",
      "prepare-spare",
      "start-redis",
      "replicate",
      "fence",
      "announce",
    ]);
    const prepare = p.steps[2]?.spec;
    expect(prepare).toEqual({
      kind: "prepare-spare",
      host: { name: "machine-c", host: "10.0.0.13", port: 6379 },
      moveAside: ["/var/lib/redis/appendonlydir", "/var/lib/redis/dump.rdb"],
    });
  });

  it("makes an empty running spare a replica directly, and refuses one that holds data", () => {
    const request = { mode: "promote" as const, spare: "machine-c" };
    const empty = ok(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 5, link: "down" }),
          master(c, [], { keys: 0 }),
        ]),
        request,
      }),
    );
    expect(kinds(empty)).toEqual(["recheck", "promote", "replicate", "fence", "announce"]);
    const refusal = refused(
      plan({
        cluster: cluster([a, b, c]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 5, link: "down" }),
          master(c, [], { keys: 7 }),
        ]),
        request,
      }),
    );
    expect(refusal.reason).toMatch(/the spare machine-c already runs Redis with 7 keys/);
  });
});

describe("replace", () => {
  const base = {
    cluster: cluster([a, b, c]),
    topology: topology([
      down(a),
      replica(b, a, { offset: 777, link: "down", downSince: 12 }),
      down(c),
    ]),
    request: { mode: "replace" as const },
  };

  describe("copy: direct", () => {
    const direct = {
      ...base,
      cluster: cluster([a, b, c], {
        copy: { mode: "direct", identityFile: "/etc/rfb/id_b", knownHostsFile: "/etc/rfb/known_c" },
      }),
    };
    const sourceReady = {
      tools: { sha256sum: true, redisCheckRdb: true, ssh: true },
      readable: ["/etc/rfb/id_b", "/etc/rfb/known_c"],
    };

    it("copies B → C over ssh run on B, to C's inventory address, with the inventory's key and known_hosts", () => {
      const p = ok(
        plan({ ...direct, hostFacts: [facts("machine-b", sourceReady), facts("machine-c")] }),
      );
      expect(p.steps[2]?.spec).toMatchObject({
        kind: "copy-rdb",
        direct: {
          user: c.transport.kind === "ssh" ? c.transport.ssh.user : "",
          host: c.transport.kind === "ssh" ? c.transport.ssh.host : "",
          identityFile: "/etc/rfb/id_b",
          knownHostsFile: "/etc/rfb/known_c",
        },
      });
    });

    it("refuses when B has no ssh client, or cannot read the known_hosts file", () => {
      expect(
        refused(
          plan({
            ...direct,
            hostFacts: [
              facts("machine-b", {
                ...sourceReady,
                tools: { sha256sum: true, redisCheckRdb: true },
              }),
              facts("machine-c"),
            ],
          }),
        ).reason,
      ).toBe("copy: direct runs ssh on machine-b, which has no ssh client");
      expect(
        refused(
          plan({
            ...direct,
            hostFacts: [
              facts("machine-b", { ...sourceReady, readable: ["/etc/rfb/id_b"] }),
              facts("machine-c"),
            ],
          }),
        ).reason,
      ).toBe(
        "copy: direct: the knownHostsFile /etc/rfb/known_c is missing or unreadable on machine-b",
      );
    });
  });

  it("follows the book: snapshot, copy, start, and only then make B a replica of C", () => {
    const p = ok(plan({ ...base, hostFacts: [facts("machine-b"), facts("machine-c")] }));
    expect(kinds(p)).toEqual([
      "recheck",
      "snapshot",
      "copy-rdb",
      "start-redis",
      "replicate",
      "fence",
      "announce",
    ]);
    const copy = p.steps[2]?.spec;
    expect(copy).toMatchObject({
      sourcePath: "/var/lib/redis/dump.rdb",
      targetPath: "/var/lib/redis/dump.rdb",
      checkRdb: true,
    });
    expect(p.steps[4]?.spec).toMatchObject({
      kind: "replicate",
      replica: { name: "machine-b" },
      master: { name: "machine-c" },
    });
    expect(p.exposure).toMatch(
      /machine-b last heard from machine-a 12 s before the plan \(offset 777\)/,
    );
    expect(p.steps[2]?.commands.join("\n")).toContain(
      "| tee -- /var/lib/redis/dump.rdb.fo-test.partial /dev/fd/4;",
    );
  });

  it("starts Redis on the spare in the copy's own command, only after install, when nothing must be prepared in between", () => {
    const p = ok(plan({ ...base, hostFacts: [facts("machine-b"), facts("machine-c")] }));
    const start = p.steps[3]?.spec;
    expect(start).toMatchObject({ kind: "start-redis", startedByCopy: true });
    const command = start?.kind === "start-redis" ? start.command : "";
    expect(p.steps[2]?.spec).toMatchObject({ kind: "copy-rdb", thenStart: command });
    const shown = p.steps[2]?.commands.join("\n") ?? "";
    // The batched command is shown as what it is: the start runs only in the install branch.
    expect(shown).toContain(`&& echo installed && { ( ${command}\n) < /dev/null 2>&1;`);
    expect(shown).toContain(`… then, only after install, ${command}`);
    expect(shown).toContain('redis> PING   (before the bot sends "install": must fail');
  });

  it("keeps the start a step of its own when the spare must be prepared after the install", () => {
    const p = ok(
      plan({
        ...base,
        hostFacts: [
          facts("machine-b"),
          facts("machine-c", { aofFiles: ["/var/lib/redis/appendonlydir"] }),
        ],
      }),
    );
    expect(p.steps[2]?.spec).not.toHaveProperty("thenStart");
    expect(p.steps[4]?.spec).toMatchObject({ kind: "start-redis" });
    expect(p.steps[4]?.spec).not.toHaveProperty("startedByCopy");
  });

  it("checks a Valkey replica's snapshot with valkey-check-rdb, the checker Valkey's packages ship", () => {
    const valkey = {
      ...base,
      topology: topology([
        down(a),
        replica(b, a, { offset: 777, link: "down", downSince: 12, server: "Valkey 8.0.1" }),
        down(c),
      ]),
    };
    const both = { sha256sum: true, redisCheckRdb: true, valkeyCheckRdb: true };
    const p = ok(
      plan({ ...valkey, hostFacts: [facts("machine-b"), facts("machine-c", { tools: both })] }),
    );
    expect(p.steps[2]?.spec).toMatchObject({ checkRdb: true, checkRdbTool: "valkey-check-rdb" });
    expect(p.steps[2]?.commands.join("\n")).toContain("{ valkey-check-rdb /dev/stdin >&2;");
    expect(p.steps[2]?.commands.join("\n")).toContain("and valkey-check-rdb passed");
    // A Redis replica's snapshot keeps redis-check-rdb, written as before (no checkRdbTool).
    const redis = ok(
      plan({ ...base, hostFacts: [facts("machine-b"), facts("machine-c", { tools: both })] }),
    );
    expect(redis.steps[2]?.spec).not.toHaveProperty("checkRdbTool");
    expect(redis.steps[2]?.commands.join("\n")).toContain("{ redis-check-rdb /dev/stdin >&2;");
  });

  it("turns AOF off for the first start and back on after, when the spare's redis.conf says appendonly yes", () => {
    const withConfig = cluster([a, b, host("machine-c", 13, { config: "/etc/redis/redis.conf" })]);
    const p = ok(
      plan({
        ...base,
        cluster: withConfig,
        hostFacts: [
          facts("machine-b"),
          facts("machine-c", {
            configAppendonly: true,
            aofFiles: ["/var/lib/redis/appendonlydir"],
          }),
        ],
      }),
    );
    expect(kinds(p)).toEqual([
      "recheck",
      "snapshot",
      "copy-rdb",
      "prepare-spare",
      "start-redis",
      "enable-aof",
      "replicate",
      "fence",
      "announce",
    ]);
    expect(p.steps[3]?.spec).toMatchObject({
      disableAofIn: "/etc/redis/redis.conf",
      moveAside: ["/var/lib/redis/appendonlydir"],
    });
  });

  it("refuses a spare on which Redis already runs, suggesting promote with it as a new replica", () => {
    const refusal = refused(
      plan({
        ...base,
        topology: topology([
          down(a),
          replica(b, a, { offset: 777, link: "down" }),
          master(c, [], { keys: 3 }),
        ]),
        request: { mode: "replace", spare: "machine-c" },
      }),
    );
    expect(refusal.reason).toMatch(/the spare machine-c already runs Redis with 3 keys/);
  });

  it("refuses when SSH to the spare fails, naming the error", () => {
    const refusal = refused(
      plan({
        ...base,
        hostFacts: [
          facts("machine-b"),
          facts("machine-c", { reachable: false, error: "host key changed" }),
        ],
      }),
    );
    expect(refusal.reason).toBe("cannot run commands on machine-c: host key changed");
  });

  it("asks for --spare when several machines could be the spare", () => {
    const refusal = refused(
      plan({
        ...base,
        cluster: cluster([a, b, c, d]),
        topology: topology([down(a), replica(b, a, { offset: 1, link: "down" }), down(c), down(d)]),
        hostFacts: [facts("machine-b"), facts("machine-c"), facts("machine-d")],
      }),
    );
    expect(refusal.reason).toMatch(/several hosts could be the spare \(machine-c, machine-d\)/);
  });

  it("repoints every other replica to the new master after the snapshot source", () => {
    const p = ok(
      plan({
        ...base,
        cluster: cluster([a, b, c, d]),
        topology: topology([
          down(a),
          replica(b, a, { offset: 10, link: "down" }),
          down(c),
          replica(d, a, { offset: 5, link: "down" }),
        ]),
        hostFacts: [facts("machine-b"), facts("machine-c")],
        request: { mode: "replace", spare: "machine-c" },
      }),
    );
    expect(
      p.steps.filter((step) => step.spec.kind === "replicate").map((step) => step.host),
    ).toEqual(["machine-b", "machine-d"]);
  });
});

describe("switchover", () => {
  it("uses FAILOVER TO with the address the master lists for the target", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b]),
        topology: topology([
          master(a, [{ of: b, offset: 5 }]),
          replica(b, a, { offset: 5, link: "up" }),
        ]),
        request: { mode: "switchover" },
      }),
    );
    expect(p.steps[1]?.spec).toMatchObject({
      kind: "switchover",
      method: "failover-command",
      targetAnnounced: { ip: "10.0.0.12", port: 6379 },
    });
    expect(p.steps[1]?.commands[0]).toBe(
      "[machine-a] redis> FAILOVER TO 10.0.0.12 6379 TIMEOUT 10000",
    );
  });

  it("falls back to pausing writes on servers older than 6.2", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b]),
        topology: topology([
          master(a, [{ of: b, offset: 5 }], { version: "6.0.16" }),
          replica(b, a, { offset: 5, link: "up" }),
        ]),
      }),
    );
    expect(p.steps[1]?.spec).toMatchObject({
      method: "refuse-writes",
      restoreConfig: { minReplicasToWrite: 0, minReplicasMaxLag: 10 },
    });
  });

  it("refuses a target the master does not list as an online replica", () => {
    const m = master(a, [{ of: b, offset: 5 }]);
    m.replicas = [];
    const refusal = refused(
      plan({
        cluster: cluster([a, b]),
        topology: topology([m, replica(b, a, { offset: 5, link: "up" })]),
        request: { mode: "switchover" },
      }),
    );
    expect(refusal.reason).toMatch(/does not list machine-b among its online replicas/);
  });
});

describe("switchover method", () => {
  it("pauses writes itself when FAILOVER is renamed or disabled on a 6.2+ master", () => {
    const p = ok(
      plan({
        cluster: cluster([a, b]),
        topology: topology([
          master(a, [{ of: b, offset: 5 }], { failoverCommand: false }),
          replica(b, a, { offset: 5, link: "up" }),
        ]),
        request: { mode: "switchover" },
      }),
    );
    expect(p.steps[1]?.spec).toMatchObject({ method: "client-pause" });
    // The pause outlasts the 10 s wait by the swap's two command timeouts (2 × 5 s).
    expect(p.steps[1]?.commands[0]).toBe("[machine-a] redis> CLIENT PAUSE 20000 WRITE");
  });
});
