import { describe, expect, it } from "vitest";
import { assessTopology } from "../../src/topology/assess.js";
import type { NodeState } from "../../src/topology/types.js";
import { down, host, master, replica, topology } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const c = host("machine-c", 13);
const d = host("machine-d", 14);

const names = (nodes: { name: string }[]) => nodes.map((node) => node.name);

/** A replica of a server outside the inventory (discovery found no name for its master). */
function replicaOfOutsider(node: NodeState, address: { host: string; port: number }): NodeState {
  if (!node.master) throw new Error("expected a replica");
  const { hostName: _dropped, ...link } = node.master;
  return { ...node, master: { ...link, host: address.host, port: address.port } };
}

describe("assessTopology: master up", () => {
  const assessment = assessTopology(
    topology([
      {
        ...master(a, [
          { of: b, offset: 500 },
          { of: c, offset: 500 },
        ]),
        latencyMs: 2,
      },
      replica(b, a, { offset: 500, link: "up" }),
      replica(c, a, { offset: 500, link: "up" }),
    ]),
  );

  it("names the master followed by the replicas and calls it up", () => {
    expect(assessment.master).toEqual({
      name: "machine-a",
      host: "10.0.0.11",
      port: 6379,
      state: "up",
    });
  });

  it("lists the replicas following it and reports no problem", () => {
    expect(names(assessment.replicas)).toEqual(["machine-b", "machine-c"]);
    expect(assessment.problems).toEqual([]);
    expect(assessment.otherMasters).toEqual([]);
    expect(assessment.silent).toEqual([]);
  });

  it("gives the bot's own view as evidence", () => {
    expect(assessment.evidence).toEqual(["bot: machine-a answers as master (2 ms)"]);
  });

  it("calls a lone master with no reachable replica up", () => {
    const lone = assessTopology(topology([master(a), down(b), down(c)]));
    expect(lone.master).toMatchObject({ name: "machine-a", state: "up" });
    expect(lone.evidence[0]).toMatch(/machine-a answers as master .* with no replica reachable/);
    expect(names(lone.silent)).toEqual(["machine-b", "machine-c"]);
    expect(lone.problems).toEqual([]);
  });
});

describe("assessTopology: master down", () => {
  const assessment = assessTopology(
    topology([
      down(a, "connect ECONNREFUSED 10.0.0.11:6379"),
      replica(b, a, { offset: 900, link: "down", downSince: 30 }),
      replica(c, a, { offset: 800, link: "down" }),
    ]),
  );

  it("calls the master down when the bot cannot reach it and every replica lost its link", () => {
    expect(assessment.master).toEqual({
      name: "machine-a",
      host: "10.0.0.11",
      port: 6379,
      state: "down",
    });
    expect(assessment.problems).toEqual([]);
  });

  it("gives one line of evidence per vantage point", () => {
    expect(assessment.evidence).toEqual([
      "bot: machine-a does not answer (connect ECONNREFUSED 10.0.0.11:6379)",
      "machine-b: master_link_status:down for 30 s",
      "machine-c: master_link_status:down",
    ]);
  });

  it("does not count the down master among the silent hosts", () => {
    expect(assessment.silent).toEqual([]);
  });

  it("lists another unreachable host as silent", () => {
    const withSpare = assessTopology(
      topology([down(a), replica(b, a, { offset: 1, link: "down" }), down(c)]),
    );
    expect(names(withSpare.silent)).toEqual(["machine-c"]);
  });
});

describe("assessTopology: master unconfirmed", () => {
  it("is unconfirmed when one replica still has its link up", () => {
    const assessment = assessTopology(
      topology([
        down(a, "ETIMEDOUT"),
        replica(b, a, { offset: 900, link: "down", downSince: 5 }),
        replica(c, a, { offset: 900, link: "up" }),
      ]),
    );
    expect(assessment.master?.state).toBe("unconfirmed");
    expect(assessment.evidence).toContain("machine-c: master_link_status:up (last heard 0 s ago)");
  });

  it("is unconfirmed, with a chained-replication problem, when the master answers as a replica", () => {
    const assessment = assessTopology(
      topology([
        replica(a, d, { offset: 900, link: "up" }),
        replica(b, a, { offset: 900, link: "up" }),
        replica(c, a, { offset: 900, link: "down" }),
        master(d),
      ]),
    );
    expect(assessment.master).toMatchObject({ name: "machine-a", state: "unconfirmed" });
    expect(assessment.evidence[0]).toBe("bot: machine-a answers but not as a master");
    expect(assessment.problems).toContain(
      "machine-a is followed by replicas but is itself a replica of 10.0.0.14:6379 (chained replication)",
    );
  });

  it("is unconfirmed when the master answers as a replica even though every link is down", () => {
    const assessment = assessTopology(
      topology([
        replica(a, d, { offset: 1, link: "down" }),
        replica(b, a, { offset: 1, link: "down" }),
        replica(c, a, { offset: 1, link: "down" }),
        down(d),
      ]),
    );
    expect(assessment.master?.state).toBe("unconfirmed");
  });
});

describe("assessTopology: problems", () => {
  it("reports replicas that disagree on their master, and follows the majority", () => {
    const assessment = assessTopology(
      topology([
        down(a),
        replica(b, a, { offset: 1, link: "down" }),
        replica(c, a, { offset: 1, link: "down" }),
        replica(d, b, { offset: 1, link: "up" }),
      ]),
    );
    expect(assessment.problems).toContain(
      "replicas disagree on their master: machine-b, machine-c follow 10.0.0.11:6379; machine-d follow 10.0.0.12:6379",
    );
    expect(assessment.master?.name).toBe("machine-a");
    expect(names(assessment.replicas)).toEqual(["machine-b", "machine-c"]);
  });

  it("reports replicas following a server that is not in the inventory", () => {
    const outsider = { host: "10.9.9.9", port: 6380 };
    const assessment = assessTopology(
      topology([
        master(a, [], { keys: 0 }),
        replicaOfOutsider(replica(b, a, { offset: 1, link: "down" }), outsider),
        replicaOfOutsider(replica(c, a, { offset: 1, link: "down" }), outsider),
      ]),
    );
    expect(assessment.master).toEqual({ host: "10.9.9.9", port: 6380, state: "down" });
    expect(assessment.problems).toContain(
      "replicas follow 10.9.9.9:6380, which is not in the inventory",
    );
    expect(assessment.evidence[0]).toBe("bot: the master does not answer (not in the inventory)");
  });

  it("reports that no server answers when every host is down", () => {
    const assessment = assessTopology(topology([down(a), down(b), down(c)]));
    expect(assessment.master).toBeUndefined();
    expect(assessment.problems).toEqual([
      "no server answers: neither a master nor a replica is reachable",
    ]);
    expect(names(assessment.silent)).toEqual(["machine-a", "machine-b", "machine-c"]);
  });

  it("reports several masters with no replica to tell which is current", () => {
    const assessment = assessTopology(topology([master(a), master(b), down(c)]));
    expect(assessment.master).toBeUndefined();
    expect(assessment.problems).toContain(
      "machine-a, machine-b all answer as masters and no replica is reachable to tell which is current",
    );
  });

  it("flags a second master holding data as a possible split brain", () => {
    const assessment = assessTopology(
      topology([
        master(a, [{ of: b, offset: 10 }]),
        replica(b, a, { offset: 10, link: "up" }),
        master(c, [], { keys: 42 }),
      ]),
    );
    expect(assessment.master).toMatchObject({ name: "machine-a", state: "up" });
    expect(names(assessment.otherMasters)).toEqual(["machine-c"]);
    expect(assessment.problems).toEqual([
      "machine-c also answers as a master (42 keys, 0 replicas): possible split brain; it must be fenced",
    ]);
  });

  it("flags a second master with replicas of its own even when it has no keys", () => {
    const assessment = assessTopology(
      topology([
        master(a, [{ of: b, offset: 10 }]),
        replica(b, a, { offset: 10, link: "up" }),
        master(c, [{ of: d, offset: 0 }], { keys: 0 }),
      ]),
    );
    expect(assessment.problems).toEqual([
      "machine-c also answers as a master (0 keys, 1 replicas): possible split brain; it must be fenced",
    ]);
  });

  it("does not flag an empty second master (a fresh spare)", () => {
    const assessment = assessTopology(
      topology([
        master(a, [{ of: b, offset: 10 }]),
        replica(b, a, { offset: 10, link: "up" }),
        master(c, [], { keys: 0 }),
      ]),
    );
    expect(names(assessment.otherMasters)).toEqual(["machine-c"]);
    expect(assessment.problems).toEqual([]);
  });

  it("treats a second master whose key count is unknown as empty", () => {
    const spare = master(c);
    delete spare.keys;
    const assessment = assessTopology(
      topology([
        master(a, [{ of: b, offset: 10 }]),
        replica(b, a, { offset: 10, link: "up" }),
        spare,
      ]),
    );
    expect(assessment.problems).toEqual([]);
  });

  it("flags an old master that came back with data while the replicas follow the new one", () => {
    const assessment = assessTopology(
      topology([
        master(a, [], { keys: 1000 }),
        master(b, [{ of: c, offset: 50 }]),
        replica(c, b, { offset: 50, link: "up" }),
      ]),
    );
    expect(assessment.master?.name).toBe("machine-b");
    expect(assessment.problems).toEqual([
      "machine-a also answers as a master (1000 keys, 0 replicas): possible split brain; it must be fenced",
    ]);
  });
});
