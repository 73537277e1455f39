import { describe, expect, it } from "vitest";
import { lastSaveText } from "../../src/cli/render/topology-table.js";

/** `now` is Unix milliseconds, `lastSave` Unix seconds (Redis' rdb_last_save_time). */
const NOW_MS = 1_700_000_000_000;
const NOW_S = NOW_MS / 1000;
const ago = (seconds: number) => lastSaveText(NOW_S - seconds, NOW_MS);

describe("lastSaveText", () => {
  it("shows a dash when there was no save", () => {
    expect(lastSaveText(undefined, NOW_MS)).toBe("-");
    expect(lastSaveText(0, NOW_MS)).toBe("-");
  });

  it("shows seconds below two minutes", () => {
    expect(ago(0)).toBe("0 s ago");
    expect(ago(45)).toBe("45 s ago");
    expect(ago(119)).toBe("119 s ago");
  });

  it("shows minutes from two minutes to below two hours", () => {
    expect(ago(120)).toBe("2 min ago");
    expect(ago(150)).toBe("3 min ago");
    expect(ago(3_600)).toBe("60 min ago");
    expect(ago(7_199)).toBe("120 min ago");
  });

  it("shows hours from two hours to below two days", () => {
    expect(ago(7_200)).toBe("2 h ago");
    expect(ago(86_400)).toBe("24 h ago");
    expect(ago(172_799)).toBe("48 h ago");
  });

  it("shows days from two days on", () => {
    expect(ago(172_800)).toBe("2 d ago");
    expect(ago(30 * 86_400)).toBe("30 d ago");
  });

  it("converts now from milliseconds, rounding to the nearest second", () => {
    expect(lastSaveText(NOW_S, NOW_MS + 600)).toBe("1 s ago");
    expect(lastSaveText(NOW_S, NOW_MS + 400)).toBe("0 s ago");
  });

  it("shows 0 s for a save time in the future (clock skew)", () => {
    expect(ago(-30)).toBe("0 s ago");
  });
});
