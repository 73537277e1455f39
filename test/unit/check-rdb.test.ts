import { describe, expect, it } from "vitest";
import { checkRdbToolOf, chooseCheckRdb } from "../../src/plan/check-rdb.js";

const tools = (redisCheckRdb: boolean, valkeyCheckRdb: boolean) => ({
  sha256sum: true,
  redisCheckRdb,
  valkeyCheckRdb,
});

describe("chooseCheckRdb", () => {
  it("prefers the checker of the flavour that wrote the snapshot", () => {
    expect(chooseCheckRdb(tools(true, true), { server: "Valkey 8.0.1" })).toBe("valkey-check-rdb");
    expect(chooseCheckRdb(tools(true, true), { server: "Redis 7.0.15" })).toBe("redis-check-rdb");
    expect(chooseCheckRdb(tools(true, true), {})).toBe("redis-check-rdb");
  });

  it("falls back to the checker the spare has", () => {
    expect(chooseCheckRdb(tools(false, true), { server: "Redis 7.0.15" })).toBe("valkey-check-rdb");
    expect(chooseCheckRdb(tools(true, false), { server: "Valkey 8.0.1" })).toBe("redis-check-rdb");
    expect(chooseCheckRdb(tools(false, false), { server: "Valkey 8.0.1" })).toBeUndefined();
  });

  it("reads host facts recorded before Valkey was known (no valkeyCheckRdb)", () => {
    expect(
      chooseCheckRdb({ sha256sum: true, redisCheckRdb: true }, { server: "Valkey 8.0.1" }),
    ).toBe("redis-check-rdb");
  });
});

describe("checkRdbToolOf", () => {
  it("runs redis-check-rdb for plans journaled before checkRdbTool existed", () => {
    expect(checkRdbToolOf({ checkRdb: true })).toBe("redis-check-rdb");
    expect(checkRdbToolOf({ checkRdb: true, checkRdbTool: "valkey-check-rdb" })).toBe(
      "valkey-check-rdb",
    );
    expect(checkRdbToolOf({ checkRdb: false, checkRdbTool: "valkey-check-rdb" })).toBeUndefined();
  });
});
