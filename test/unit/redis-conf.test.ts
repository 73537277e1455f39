import { describe, expect, it } from "vitest";
import { parseRedisConf } from "../../src/topology/redis-conf.js";

describe("parseRedisConf", () => {
  it("reads the directives preflight needs from a typical redis.conf", () => {
    const text = [
      "# Redis configuration file example.",
      "bind 127.0.0.1 -::1",
      "port 6379",
      "dir /var/lib/redis",
      "dbfilename dump.rdb",
      "appendonly yes",
      'appendfilename "appendonly.aof"',
      'appenddirname "appendonlydir"',
      "replicaof 10.0.0.11 6379",
      "",
    ].join("\n");
    expect(parseRedisConf(text)).toEqual({
      dir: "/var/lib/redis",
      dbfilename: "dump.rdb",
      appendonly: true,
      appendfilename: "appendonly.aof",
      appenddirname: "appendonlydir",
      replicaof: "10.0.0.11 6379",
    });
  });

  it("returns nothing for directives that are absent", () => {
    expect(parseRedisConf("port 6379\nmaxmemory 1gb\n")).toEqual({});
  });

  it("skips comment lines, including indented ones", () => {
    expect(parseRedisConf("# appendonly yes\n   # dir /nope\nappendonly no\n")).toEqual({
      appendonly: false,
    });
  });

  it("lets a later directive win over an earlier one", () => {
    expect(parseRedisConf("appendonly yes\nappendonly no\n").appendonly).toBe(false);
    expect(parseRedisConf("appendonly no\nappendonly yes\n").appendonly).toBe(true);
    expect(parseRedisConf("dir /a\ndir /b\n").dir).toBe("/b");
  });

  it("reads the old slaveof name as replicaof", () => {
    expect(parseRedisConf("slaveof 10.0.0.12 6380\n").replicaof).toBe("10.0.0.12 6380");
  });

  it("lets the later of slaveof and replicaof win", () => {
    expect(parseRedisConf("replicaof a 1\nslaveof b 2\n").replicaof).toBe("b 2");
    expect(parseRedisConf("slaveof b 2\nreplicaof a 1\n").replicaof).toBe("a 1");
  });

  it("strips double and single quotes around a value", () => {
    expect(parseRedisConf('dir "/var/lib/redis data"\n').dir).toBe("/var/lib/redis data");
    expect(parseRedisConf("dbfilename 'my dump.rdb'\n").dbfilename).toBe("my dump.rdb");
    expect(parseRedisConf('appendonly "yes"\n').appendonly).toBe(true);
  });

  it("treats directive names and yes/no values case-insensitively", () => {
    expect(parseRedisConf("AppendOnly YES\n").appendonly).toBe(true);
    expect(parseRedisConf("DIR /data\n").dir).toBe("/data");
    expect(parseRedisConf("SlaveOf h 1\n").replicaof).toBe("h 1");
  });

  it("keeps the case of path values", () => {
    expect(parseRedisConf("dir /Data/Redis\n").dir).toBe("/Data/Redis");
  });

  it("tolerates CRLF line endings, tabs and surrounding whitespace", () => {
    expect(parseRedisConf("  dir\t/data  \r\nappendonly\tyes\r\n")).toEqual({
      dir: "/data",
      appendonly: true,
    });
  });

  it("treats any appendonly value other than yes as off", () => {
    expect(parseRedisConf("appendonly no\n").appendonly).toBe(false);
    expect(parseRedisConf("appendonly maybe\n").appendonly).toBe(false);
  });

  it("ignores a directive without a value", () => {
    expect(parseRedisConf("dir\nappendonly\n")).toEqual({});
  });
});
