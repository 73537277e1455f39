import { describe, expect, it } from "vitest";
import { parseInfo } from "../../src/redis/info.js";
import { compareHistories, historyMark } from "../../src/topology/divergence.js";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("compareHistories", () => {
  it("reads INFO replication, ignoring an unused previous ID", () => {
    expect(
      historyMark(
        parseInfo(
          `master_replid:${A}\nmaster_replid2:${"0".repeat(40)}\nmaster_repl_offset:42\nsecond_repl_offset:-1\n`,
        ),
      ),
    ).toEqual({ replicationId: A, offset: 42 });
  });

  it("finds the writes an old master took after a replica was promoted", () => {
    const returning = { replicationId: A, offset: 1500 };
    const current = { replicationId: B, previousId: A, previousEndsAt: 1001, offset: 1200 };
    expect(compareHistories(returning, current)).toMatchObject({ diverged: true, bytes: 500 });
  });

  it("finds nothing when the old master stopped before the promotion point", () => {
    const returning = { replicationId: A, offset: 1000 };
    const current = { replicationId: B, previousId: A, previousEndsAt: 1001, offset: 1200 };
    expect(compareHistories(returning, current).diverged).toBe(false);
  });

  it("compares offsets within one history", () => {
    expect(
      compareHistories({ replicationId: A, offset: 10 }, { replicationId: A, offset: 20 }),
    ).toMatchObject({ diverged: false });
    expect(
      compareHistories({ replicationId: A, offset: 30 }, { replicationId: A, offset: 20 }),
    ).toMatchObject({ diverged: true, bytes: 10 });
  });

  it("cannot vouch for an unrelated history", () => {
    expect(
      compareHistories({ replicationId: A, offset: 10 }, { replicationId: B, offset: 20 }).diverged,
    ).toBe("unknown");
  });
});
