import { describe, expect, it } from "vitest";
import type { AnsweringProbe } from "../../src/runs/watch.js";
import {
  FENCE_ACTION,
  watchReturnedMessage,
  withoutFence,
} from "../../src/slack/blocks/watch-message.js";
import type { JournalRecord } from "../../src/state/types.js";
import {
  currentMaster,
  openWatches,
  replayWatches,
  watchRecordsForStep,
} from "../../src/state/watches.js";
import { SLACK_LIMITS, validateBlocks } from "../slack-double/index.js";

const a = { name: "machine-a", host: "10.0.0.1", port: 6379 };
const b = { name: "machine-b", host: "10.0.0.2", port: 6379 };
const base = { runId: "fo-1", cluster: "cache-prod" };

describe("watches replayed from the journal", () => {
  it("follows start, returns, silences and the end; records after the end change nothing", () => {
    const records: JournalRecord[] = [
      { ...base, type: "watch-started", at: 1, host: a, newMaster: b },
      { ...base, type: "watch-returned", at: 2, host: "machine-a", n: 1, summary: "s1", by: "i" },
      { ...base, type: "watch-silent", at: 3, host: "machine-a", n: 1, by: "i" },
      { ...base, type: "watch-returned", at: 4, host: "machine-a", n: 2, summary: "s2", by: "i" },
    ];
    const open = replayWatches(records).get("fo-1");
    expect(open).toMatchObject({ returns: 2, answering: true, lastSummary: "s2", startedAt: 1 });
    expect(openWatches(replayWatches(records))).toHaveLength(1);
    const ended = replayWatches([
      ...records,
      {
        ...base,
        type: "watch-ended",
        at: 5,
        host: "machine-a",
        reason: "fenced",
        detail: "d",
        fencedBy: "fo-2",
      },
      { ...base, type: "watch-ended", at: 6, host: "machine-a", reason: "replica", detail: "late" },
      { ...base, type: "watch-returned", at: 7, host: "machine-a", n: 3, summary: "s3", by: "i" },
    ]);
    expect(ended.get("fo-1")?.ended).toEqual({
      at: 5,
      reason: "fenced",
      detail: "d",
      fencedBy: "fo-2",
    });
    expect(ended.get("fo-1")?.returns).toBe(2);
    expect(openWatches(ended)).toHaveLength(0);
  });
});

describe("the master a watched host should follow", () => {
  it("is the watch's new master until a later successful run of the cluster names another", () => {
    const c = { name: "machine-c", host: "10.0.0.3", port: 6379 };
    const started: JournalRecord = {
      ...base,
      type: "watch-started",
      at: 10,
      host: a,
      newMaster: b,
    };
    const finished = (at: number, ok: boolean, cluster = "cache-prod"): JournalRecord => ({
      type: "run-finished",
      runId: `fo-${at}`,
      cluster,
      at,
      ok,
      aborted: false,
      durationMs: 1,
      newMaster: c,
      warnings: [],
      nextActions: [],
    });
    const watch = replayWatches([started]).get("fo-1")!;
    expect(currentMaster([started], watch)).toEqual(b);
    expect(
      currentMaster(
        [finished(5, true), started, finished(20, false), finished(30, true, "other")],
        watch,
      ),
    ).toEqual(b);
    expect(currentMaster([started, finished(20, true)], watch)).toEqual(c);
  });
});

describe("the return message", () => {
  const watch = replayWatches([
    { ...base, type: "watch-started", at: 1, host: { ...a, name: "<@U0EVIL> ```x" }, newMaster: b },
  ]).get("fo-1")!;
  const probe: AnsweringProbe = {
    answers: true,
    followsCurrent: false,
    returned: {
      name: "machine-a",
      role: "master",
      keys: 550,
      offset: 9000,
      current: { name: "machine-b", offset: 8000 },
      divergence: {
        diverged: true,
        bytes: 1000,
        reason: "<b>1000 bytes</b> past the shared history",
      },
      summary: "machine-a answers as master",
    },
  };

  it("is valid Block Kit, escapes remote text, and offers exactly one Fence button valued with the run id", () => {
    const content = watchReturnedMessage(watch, probe, 2);
    expect(validateBlocks(content.blocks ?? [], { ...SLACK_LIMITS })).toBeUndefined();
    // Only the mrkdwn renders mentions and markup (the confirm dialog is plain text).
    const json = JSON.stringify(
      (content.blocks ?? []).map((block) => (block.type === "section" ? block.text : undefined)),
    );
    expect(json).not.toContain("<@U0EVIL>");
    expect(json).not.toContain("<b>");
    expect(json).toContain("return 2 since the run");
    const buttons = (content.blocks ?? []).flatMap((block) =>
      block.type === "actions" ? block.elements : [],
    );
    expect(buttons).toMatchObject([
      { action_id: FENCE_ACTION, text: { text: "Fence" }, value: "fo-1" },
    ]);
    const closed = withoutFence(content, "machine-a was fenced by run fo-2");
    expect(closed.blocks?.some((block) => block.type === "actions")).toBe(false);
    expect(validateBlocks(closed.blocks ?? [], { ...SLACK_LIMITS })).toBeUndefined();
  });

  it("says so when the current master could not be read", () => {
    const content = watchReturnedMessage(
      watch,
      { answers: true, followsCurrent: false, problem: "machine-b did not answer" },
      1,
    );
    expect(JSON.stringify(content.blocks)).toContain("could not be compared with machine-b");
    expect(validateBlocks(content.blocks ?? [], { ...SLACK_LIMITS })).toBeUndefined();
  });
});

describe("what a finished fence step records", () => {
  const fenceStep = (runId: string) => ({
    runId,
    cluster: "cache-prod",
    steps: [
      { index: 1, title: "Promote", commands: [], spec: { kind: "promote" as const, host: b } },
      {
        index: 2,
        title: "Fence",
        commands: [],
        spec: { kind: "fence" as const, host: a, newMaster: b },
      },
    ],
  });
  const started: JournalRecord = { ...base, type: "watch-started", at: 1, host: a, newMaster: b };

  it("a host it could not reach is watched, once; other steps record nothing", () => {
    const unfenced = { unfenced: { name: "machine-a", commands: [] } };
    expect(
      watchRecordsForStep([], fenceStep("fo-1"), { index: 2, status: "ok" }, unfenced, 1),
    ).toEqual([started]);
    expect(
      watchRecordsForStep([started], fenceStep("fo-1"), { index: 2, status: "ok" }, unfenced, 2),
    ).toEqual([]);
    expect(
      watchRecordsForStep([], fenceStep("fo-1"), { index: 1, status: "ok" }, unfenced, 1),
    ).toEqual([]);
    expect(
      watchRecordsForStep([], fenceStep("fo-1"), { index: 2, status: "failed" }, {}, 1),
    ).toEqual([]);
  });

  it("a host it fenced ends another run's watch; one it could not reach again moves the watch to the new run", () => {
    expect(
      watchRecordsForStep([started], fenceStep("fo-2"), { index: 2, status: "ok" }, {}, 5),
    ).toEqual([
      {
        ...base,
        type: "watch-ended",
        at: 5,
        host: "machine-a",
        reason: "fenced",
        detail: "machine-a was fenced by run fo-2",
        fencedBy: "fo-2",
      },
    ]);
    const again = watchRecordsForStep(
      [started],
      fenceStep("fo-3"),
      { index: 2, status: "ok" },
      { unfenced: { name: "machine-a", commands: [] } },
      6,
    );
    expect(again.map((r) => [r.type, r.runId])).toEqual([
      ["watch-ended", "fo-1"],
      ["watch-started", "fo-3"],
    ]);
  });
});
