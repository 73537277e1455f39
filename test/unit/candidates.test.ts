import { describe, expect, it } from "vitest";
import { lastHeardSecondsAgo, rankCandidates } from "../../src/plan/candidates.js";
import type { NodeState } from "../../src/topology/types.js";
import { down, host, master, replica } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const c = host("machine-c", 13);
const d = host("machine-d", 14);

const names = (nodes: { name: string }[]) => nodes.map((node) => node.name);

describe("rankCandidates: order", () => {
  it("returns nothing for no replicas", () => {
    expect(rankCandidates([])).toEqual([]);
  });

  it("prefers the highest offset among equal priorities", () => {
    const ranked = rankCandidates([
      replica(b, a, { offset: 500, link: "down" }),
      replica(c, a, { offset: 900, link: "down" }),
    ]);
    expect(names(ranked)).toEqual(["machine-c", "machine-b"]);
  });

  it("prefers the lowest replica-priority over a higher offset", () => {
    const ranked = rankCandidates([
      replica(b, a, { offset: 900, link: "down", priority: 100 }),
      replica(c, a, { offset: 100, link: "down", priority: 10 }),
    ]);
    expect(names(ranked)).toEqual(["machine-c", "machine-b"]);
  });

  it("breaks a tie of priority and offset by name", () => {
    const ranked = rankCandidates([
      replica(d, a, { offset: 700, link: "down" }),
      replica(b, a, { offset: 700, link: "down" }),
      replica(c, a, { offset: 700, link: "down" }),
    ]);
    expect(names(ranked)).toEqual(["machine-b", "machine-c", "machine-d"]);
  });

  it("puts every eligible replica before every ineligible one", () => {
    const ranked = rankCandidates([
      replica(b, a, { offset: 9_000, link: "down", priority: 0 }),
      replica(c, a, { offset: 10, link: "down", priority: 200 }),
    ]);
    expect(ranked.map((candidate) => [candidate.name, candidate.eligible])).toEqual([
      ["machine-c", true],
      ["machine-b", false],
    ]);
  });

  it("appends unreachable hosts as ineligible candidates", () => {
    const ranked = rankCandidates(
      [replica(b, a, { offset: 10, link: "down" })],
      [down(c, "connect ETIMEDOUT")],
    );
    expect(ranked[1]).toEqual({
      name: "machine-c",
      offset: 0,
      behindBestBytes: 0,
      priority: 100,
      eligible: false,
      reason: "unreachable (connect ETIMEDOUT)",
    });
  });
});

describe("rankCandidates: fields", () => {
  it("measures each replica's distance from the most advanced one", () => {
    const ranked = rankCandidates([
      replica(b, a, { offset: 1_000, link: "down" }),
      replica(c, a, { offset: 1_250, link: "down" }),
    ]);
    expect(ranked.map((candidate) => [candidate.name, candidate.behindBestBytes])).toEqual([
      ["machine-c", 0],
      ["machine-b", 250],
    ]);
  });

  it("measures distance against the most advanced replica even when that one is ineligible", () => {
    const ranked = rankCandidates([
      replica(b, a, { offset: 1_000, link: "down" }),
      replica(c, a, { offset: 5_000, link: "down", priority: 0 }),
    ]);
    expect(ranked[0]).toMatchObject({ name: "machine-b", behindBestBytes: 4_000 });
  });

  it("treats a missing offset as 0 and a missing priority as 100", () => {
    const node = replica(b, a, { offset: 0, link: "down" });
    delete node.offset;
    delete node.replicaPriority;
    expect(rankCandidates([node])[0]).toMatchObject({ offset: 0, priority: 100, eligible: true });
  });

  it("carries how long ago the replica last heard from the master", () => {
    const [candidate] = rankCandidates([replica(b, a, { offset: 1, link: "down", downSince: 42 })]);
    expect(candidate?.lastHeardSecondsAgo).toBe(42);
  });

  it("omits lastHeardSecondsAgo when it is unknown", () => {
    const [candidate] = rankCandidates([replica(b, a, { offset: 1, link: "down" })]);
    expect(candidate).not.toHaveProperty("lastHeardSecondsAgo");
  });
});

describe("rankCandidates: eligibility", () => {
  it("marks an unreachable replica ineligible with its error", () => {
    const node: NodeState = { ...replica(b, a, { offset: 1, link: "down" }), reachable: false };
    node.error = "ECONNREFUSED";
    expect(rankCandidates([node])[0]).toMatchObject({
      eligible: false,
      reason: "unreachable (ECONNREFUSED)",
    });
  });

  it("marks a loading replica ineligible", () => {
    const node = replica(b, a, { offset: 1, link: "down", loading: true });
    expect(rankCandidates([node])[0]).toMatchObject({
      eligible: false,
      reason: "still loading its dataset",
    });
  });

  it("marks a replica in the middle of a full sync ineligible", () => {
    const node = replica(b, a, { offset: 1, link: "down", syncing: true });
    expect(rankCandidates([node])[0]).toMatchObject({
      eligible: false,
      reason: "a full sync from the master was in progress: its dataset is incomplete",
    });
  });

  it("marks replica-priority 0 ineligible", () => {
    const node = replica(b, a, { offset: 1, link: "down", priority: 0 });
    expect(rankCandidates([node])[0]).toMatchObject({
      eligible: false,
      priority: 0,
      reason: "replica-priority 0 (configured never to become master)",
    });
  });

  it("gives an eligible replica no reason", () => {
    const [candidate] = rankCandidates([replica(b, a, { offset: 1, link: "up" })]);
    expect(candidate?.eligible).toBe(true);
    expect(candidate).not.toHaveProperty("reason");
  });
});

describe("lastHeardSecondsAgo", () => {
  it("is undefined for a node without a master link (a master)", () => {
    expect(lastHeardSecondsAgo(master(a))).toBeUndefined();
  });

  it("is master_last_io_seconds_ago while the link is up", () => {
    const node = replica(b, a, { offset: 1, link: "up" });
    if (node.master) node.master.lastIoSecondsAgo = 3;
    expect(lastHeardSecondsAgo(node)).toBe(3);
  });

  it("is the link-down time once the link is down", () => {
    const node = replica(b, a, { offset: 1, link: "down", downSince: 95 });
    if (node.master) node.master.lastIoSecondsAgo = 7;
    expect(lastHeardSecondsAgo(node)).toBe(95);
  });

  it("falls back to last I/O when a down link has no down-since time", () => {
    const node = replica(b, a, { offset: 1, link: "down" });
    if (node.master) node.master.lastIoSecondsAgo = 12;
    expect(lastHeardSecondsAgo(node)).toBe(12);
  });

  it("is undefined for a down link with neither time", () => {
    expect(lastHeardSecondsAgo(replica(b, a, { offset: 1, link: "down" }))).toBeUndefined();
  });

  it("keeps a down-since time of 0", () => {
    const node = replica(b, a, { offset: 1, link: "down", downSince: 0 });
    if (node.master) node.master.lastIoSecondsAgo = 50;
    expect(lastHeardSecondsAgo(node)).toBe(0);
  });
});
