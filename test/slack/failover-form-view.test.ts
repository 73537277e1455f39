import { describe, expect, it } from "vitest";
import { FORM, failoverForm, hostValue } from "../../src/slack/blocks/failover-form.js";
import { SLACK_LIMITS } from "../slack-double/limits.js";
import { validateView } from "../slack-double/views.js";
import { cluster, host } from "../unit/fixtures.js";

type Json = Record<string, unknown>;

const metadata = JSON.stringify({ channel: "C0INCIDENT", responseUrl: "https://hooks.example/x" });
const element = (view: Json, blockId: string) =>
  (view.blocks as Json[]).find((block) => block.block_id === blockId)?.element as Json;

describe("the failover form's view", () => {
  it("for one cluster: it is preselected, and its hosts are offered without groups", () => {
    const view = failoverForm([cluster([host("machine-a", 1), host("machine-b", 2)])], metadata);
    expect(validateView(view as unknown as Json, { ...SLACK_LIMITS })).toEqual([]);
    const clusterSelect = element(view as unknown as Json, FORM.blocks.cluster);
    expect(clusterSelect.initial_option).toMatchObject({ value: "cache-prod" });
    const spare = element(view as unknown as Json, FORM.blocks.spare);
    expect(spare.option_groups).toBeUndefined();
    expect((spare.options as Json[]).map((option) => option.value)).toEqual([
      hostValue("cache-prod", "machine-a"),
      hostValue("cache-prod", "machine-b"),
    ]);
    expect(view.private_metadata).toBe(metadata);
  });

  it("stays within Slack's limits for an inventory far past them, and says what it left out", () => {
    const longName = (i: number) => `cluster-${String(i).padStart(4, "0")}-${"x".repeat(80)}`;
    const clusters = Array.from({ length: 150 }, (_, c) =>
      cluster(
        Array.from({ length: 120 }, (_, h) =>
          host(`host-${String(h).padStart(4, "0")}`, (h % 250) + 1),
        ),
        { name: longName(c) },
      ),
    );
    const view = failoverForm(clusters, metadata) as unknown as Json;
    expect(validateView(view, { ...SLACK_LIMITS })).toEqual([]);
    expect(JSON.stringify(view).length).toBeLessThanOrEqual(SLACK_LIMITS.maxViewBytes);
    const blocks = view.blocks as Json[];
    const hint = (blockId: string) => {
      const block = blocks.find((candidate) => candidate.block_id === blockId);
      return String((block?.hint as Json | undefined)?.text);
    };
    expect((element(view, FORM.blocks.cluster).options as Json[]).length).toBe(100);
    expect(hint(FORM.blocks.cluster)).toMatch(/50 more cluster\(s\)/);
    expect(hint(FORM.blocks.spare)).toMatch(/\d+ host\(s\) are not listed/);
  });

  it("leaves out a host field when no host name fits in an option's value", () => {
    const view = failoverForm(
      [cluster([host("a".repeat(160), 1), host("b".repeat(160), 2)])],
      metadata,
    ) as unknown as Json;
    expect(validateView(view, { ...SLACK_LIMITS })).toEqual([]);
    const ids = (view.blocks as Json[]).map((block) => block.block_id);
    expect(ids).toEqual([FORM.blocks.cluster, FORM.blocks.mode, FORM.blocks.dryRun]);
  });
});
