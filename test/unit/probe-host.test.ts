import { describe, expect, it } from "vitest";
import { applyProbeOutput } from "../../src/topology/probe-host.js";
import type { HostFacts } from "../../src/topology/types.js";

function blank(): HostFacts {
  return {
    name: "machine-c",
    reachable: true,
    aofFiles: [],
    tools: { sha256sum: false, redisCheckRdb: false, valkeyCheckRdb: false },
  };
}

function apply(stdout: string): HostFacts {
  const facts = blank();
  applyProbeOutput(facts, stdout);
  return facts;
}

describe("applyProbeOutput", () => {
  it("records every fact of a full probe", () => {
    const facts = apply(
      [
        "tool=sha256sum",
        "tool=redis-check-rdb",
        "tool=valkey-check-rdb",
        "dir=yes",
        "rdb=1048576",
        "aof=/var/lib/redis/appendonlydir",
        "aof=/var/lib/redis/appendonly.aof",
        "",
      ].join("\n"),
    );
    expect(facts).toEqual({
      ...blank(),
      tools: { sha256sum: true, redisCheckRdb: true, valkeyCheckRdb: true },
      dirExists: true,
      rdbExists: true,
      rdbBytes: 1048576,
      aofFiles: ["/var/lib/redis/appendonlydir", "/var/lib/redis/appendonly.aof"],
    });
  });

  it("leaves everything unset for empty output", () => {
    expect(apply("")).toEqual(blank());
  });

  it("marks only the tools that were reported", () => {
    expect(apply("tool=sha256sum\n").tools).toEqual({
      sha256sum: true,
      redisCheckRdb: false,
      valkeyCheckRdb: false,
    });
    expect(apply("tool=redis-check-rdb\n").tools).toEqual({
      sha256sum: false,
      redisCheckRdb: true,
      valkeyCheckRdb: false,
    });
    expect(apply("tool=valkey-check-rdb\n").tools).toEqual({
      sha256sum: false,
      redisCheckRdb: false,
      valkeyCheckRdb: true,
    });
  });

  it("ignores unknown tools and unknown keys", () => {
    expect(apply("tool=md5sum\nfoo=bar\n")).toEqual(blank());
  });

  it("reads an rdb size padded with spaces (BSD wc)", () => {
    const facts = apply("rdb=     2048\n");
    expect(facts.rdbExists).toBe(true);
    expect(facts.rdbBytes).toBe(2048);
  });

  it("tolerates CRLF output", () => {
    const facts = apply("tool=sha256sum\r\ndir=yes\r\nrdb=10\r\naof=/d/appendonly.aof\r\n");
    expect(facts.tools.sha256sum).toBe(true);
    expect(facts.dirExists).toBe(true);
    expect(facts.rdbBytes).toBe(10);
    expect(facts.aofFiles).toEqual(["/d/appendonly.aof"]);
  });

  it("keeps '=' inside an aof path", () => {
    expect(apply("aof=/data/a=b/appendonly.aof\n").aofFiles).toEqual(["/data/a=b/appendonly.aof"]);
  });

  it("ignores lines without a key (noise from login scripts)", () => {
    expect(apply("Welcome to machine-c\n=yes\n")).toEqual(blank());
  });

  it("does not mark the data directory when dir= is absent", () => {
    expect(apply("tool=sha256sum\n").dirExists).toBeUndefined();
  });

  it("appends aof files to those already recorded", () => {
    const facts = blank();
    facts.aofFiles.push("/old/appendonly.aof");
    applyProbeOutput(facts, "aof=/new/appendonlydir\n");
    expect(facts.aofFiles).toEqual(["/old/appendonly.aof", "/new/appendonlydir"]);
  });
});
