import { describe, expect, it } from "vitest";
import {
  configPairs,
  connectedReplicas,
  intField,
  keyCount,
  parseInfo,
  parseKeyValueList,
  serverFlavour,
  versionAtLeast,
} from "../../src/redis/info.js";

/** Redis sends INFO with CRLF line endings. */
const crlf = (text: string) => text.replace(/\n/g, "\r\n");

/**
 * Captured from redis-server 7.0.15 (`redis-cli INFO`, sections Server, Persistence,
 * Replication and Keyspace) with one replica attached and keys in db0 and db3.
 */
const MASTER_INFO = crlf(`# Server
redis_version:7.0.15
redis_git_sha1:00000000
redis_git_dirty:0
redis_build_id:e08dbad3e06f3fb
redis_mode:standalone
os:Linux 6.18.44-fc-v669 x86_64
arch_bits:64
monotonic_clock:POSIX clock_gettime
multiplexing_api:epoll
atomicvar_api:c11-builtin
gcc_version:12.2.0
process_id:4513
process_supervised:no
run_id:ec9285a4058e37f1f9b7de3e9aeac573eb2515c1
tcp_port:17777
server_time_usec:1795543591501664
uptime_in_seconds:3
uptime_in_days:0
hz:10
configured_hz:10
lru_clock:381479
executable:/tmp/rfb-info-capture/redis-server
config_file:
io_threads_active:0

# Persistence
loading:0
async_loading:0
current_cow_peak:0
current_cow_size:0
current_cow_size_age:0
current_fork_perc:0.00
current_save_keys_processed:0
current_save_keys_total:0
rdb_changes_since_last_save:5
rdb_bgsave_in_progress:0
rdb_last_save_time:1795543588
rdb_last_bgsave_status:ok
rdb_last_bgsave_time_sec:0
rdb_current_bgsave_time_sec:-1
rdb_saves:0
rdb_last_cow_size:368640
rdb_last_load_keys_expired:0
rdb_last_load_keys_loaded:0
aof_enabled:0
aof_rewrite_in_progress:0
aof_rewrite_scheduled:0
aof_last_rewrite_time_sec:-1
aof_current_rewrite_time_sec:-1
aof_last_bgrewrite_status:ok
aof_rewrites:0
aof_rewrites_consecutive_failures:0
aof_last_write_status:ok
aof_last_cow_size:0
module_fork_in_progress:0
module_fork_last_cow_size:0

# Replication
role:master
connected_slaves:1
slave0:ip=127.0.0.1,port=17778,state=online,offset=211,lag=0
master_failover_state:no-failover
master_replid:982bf296db021d521e1c2699ed1b01b0adde7b28
master_replid2:0000000000000000000000000000000000000000
master_repl_offset:211
second_repl_offset:-1
repl_backlog_active:1
repl_backlog_size:1048576
repl_backlog_first_byte_offset:1
repl_backlog_histlen:211

# Keyspace
db0:keys=2,expires=1,avg_ttl=998980
db3:keys=3,expires=0,avg_ttl=0
`);

/** Captured from the replica of the server above, one second after its master went away. */
const REPLICA_LINK_DOWN_INFO = crlf(`# Replication
role:slave
master_host:127.0.0.1
master_port:17777
master_link_status:down
master_last_io_seconds_ago:-1
master_sync_in_progress:0
slave_read_repl_offset:211
slave_repl_offset:211
master_link_down_since_seconds:1
slave_priority:100
slave_read_only:1
replica_announced:1
connected_slaves:0
master_failover_state:no-failover
master_replid:982bf296db021d521e1c2699ed1b01b0adde7b28
master_replid2:0000000000000000000000000000000000000000
master_repl_offset:211
second_repl_offset:-1
repl_backlog_active:1
repl_backlog_size:1048576
repl_backlog_first_byte_offset:1
repl_backlog_histlen:211
`);

describe("parseInfo", () => {
  const fields = parseInfo(MASTER_INFO);

  it("reads fields from CRLF-terminated INFO text without a trailing CR", () => {
    expect(fields.get("redis_version")).toBe("7.0.15");
    expect(fields.get("role")).toBe("master");
    expect(fields.get("rdb_last_bgsave_status")).toBe("ok");
  });

  it("drops section headers and blank lines", () => {
    expect([...fields.keys()].some((key) => key.startsWith("#") || key === "")).toBe(false);
    expect(fields.has("# Server")).toBe(false);
  });

  it("keeps an empty value as the empty string", () => {
    expect(fields.get("config_file")).toBe("");
  });

  it("splits at the first colon only, keeping values that contain spaces or colons", () => {
    expect(fields.get("os")).toBe("Linux 6.18.44-fc-v669 x86_64");
    const ipv6 = parseInfo("slave1:ip=::1,port=6380,state=online,offset=5,lag=1\r\n");
    expect(ipv6.get("slave1")).toBe("ip=::1,port=6380,state=online,offset=5,lag=1");
  });

  it("reads LF-only text the same as CRLF text", () => {
    expect([...parseInfo(MASTER_INFO.replace(/\r\n/g, "\n"))]).toEqual([...fields]);
  });

  it("skips lines without a key before the colon", () => {
    const parsed = parseInfo(":orphan\r\nno colon here\r\nrole:master\r\n");
    expect([...parsed]).toEqual([["role", "master"]]);
  });

  it("lets a later duplicate field win", () => {
    expect(parseInfo("role:master\nrole:slave\n").get("role")).toBe("slave");
  });
});

describe("intField", () => {
  const fields = parseInfo(MASTER_INFO);

  it("reads integer fields, including -1", () => {
    expect(intField(fields, "master_repl_offset")).toBe(211);
    expect(intField(fields, "rdb_last_save_time")).toBe(1795543588);
    expect(intField(fields, "second_repl_offset")).toBe(-1);
  });

  it("returns undefined for missing, empty and non-numeric fields", () => {
    expect(intField(fields, "master_link_status")).toBeUndefined();
    expect(intField(fields, "config_file")).toBeUndefined();
    expect(intField(fields, "role")).toBeUndefined();
  });
});

describe("parseKeyValueList", () => {
  it("splits a replica line into its fields", () => {
    expect(
      Object.fromEntries(
        parseKeyValueList("ip=127.0.0.1,port=17778,state=online,offset=211,lag=0"),
      ),
    ).toEqual({ ip: "127.0.0.1", port: "17778", state: "online", offset: "211", lag: "0" });
  });

  it("keeps '=' inside a value and skips pairs without a key", () => {
    expect(Object.fromEntries(parseKeyValueList("a=b=c,=x,novalue,k="))).toEqual({
      a: "b=c",
      k: "",
    });
  });

  it("returns an empty map for empty text", () => {
    expect(parseKeyValueList("").size).toBe(0);
  });
});

describe("connectedReplicas", () => {
  it("reads the slaveN lines of a master's INFO", () => {
    expect(connectedReplicas(parseInfo(MASTER_INFO))).toEqual([
      { ip: "127.0.0.1", port: 17778, state: "online", offset: 211, lag: 0 },
    ]);
  });

  it("reads several replicas, including an IPv6 address, in INFO order", () => {
    const fields = parseInfo(
      crlf(`role:master
connected_slaves:2
slave0:ip=10.0.0.12,port=6379,state=wait_bgsave,offset=0,lag=0
slave1:ip=fd00::13,port=6380,state=online,offset=9001,lag=1
master_repl_offset:9001
`),
    );
    expect(connectedReplicas(fields)).toEqual([
      { ip: "10.0.0.12", port: 6379, state: "wait_bgsave", offset: 0, lag: 0 },
      { ip: "fd00::13", port: 6380, state: "online", offset: 9001, lag: 1 },
    ]);
  });

  it("ignores fields that only start with 'slave' (slave_repl_offset, slave_priority)", () => {
    expect(connectedReplicas(parseInfo(REPLICA_LINK_DOWN_INFO))).toEqual([]);
  });

  it("fills missing replica fields with neutral values", () => {
    expect(connectedReplicas(parseInfo("slave0:ip=10.0.0.1\n"))).toEqual([
      { ip: "10.0.0.1", port: 0, state: "unknown", offset: 0, lag: 0 },
    ]);
  });
});

describe("keyCount", () => {
  it("sums keys= over every dbN line", () => {
    expect(keyCount(parseInfo(MASTER_INFO))).toBe(5);
  });

  it("is 0 when the keyspace section is empty", () => {
    expect(keyCount(parseInfo(REPLICA_LINK_DOWN_INFO))).toBe(0);
    expect(keyCount(parseInfo("# Keyspace\r\n"))).toBe(0);
  });

  it("ignores fields that merely start with db", () => {
    expect(keyCount(parseInfo("dbfilename:keys=99\ndb12:keys=7,expires=0,avg_ttl=0\n"))).toBe(7);
  });
});

describe("serverFlavour", () => {
  const server = (lines: string[]) => serverFlavour(parseInfo(["# Server", ...lines].join("\r\n")));
  it.each([
    [["redis_version:7.0.15", "redis_mode:standalone"], "Redis 7.0.15"],
    [["redis_version:7.2.4", "server_name:valkey", "valkey_version:8.0.1"], "Valkey 8.0.1"],
    // Valkey 7.2 has valkey_version but no server_name.
    [["redis_version:7.2.4", "valkey_version:7.2.5"], "Valkey 7.2.5"],
    [["redis_version:7.2.4", "server_name:valkey"], "Valkey 7.2.4"],
    [["redis_version:7.2.4", "server_name:keydb"], "Keydb 7.2.4"],
    [["redis_mode:standalone"], undefined],
  ])("%j -> %s", (lines, expected) => {
    expect(server(lines)).toBe(expected);
  });
});

describe("versionAtLeast", () => {
  it.each([
    ["7.0.15", 6, 2, true],
    ["6.2.0", 6, 2, true],
    ["6.2.14", 6, 2, true],
    ["6.0.16", 6, 2, false],
    ["5.0.14", 6, 2, false],
    ["10.0.0", 6, 2, true],
    ["6.10.1", 6, 2, true],
    ["7", 7, 0, true],
    ["7", 7, 1, false],
    ["7.2.0-rc1", 7, 2, true],
  ] as const)("%s >= %i.%i is %s", (version, major, minor, expected) => {
    expect(versionAtLeast(version, major, minor)).toBe(expected);
  });

  it("is false for an unknown or unparsable version", () => {
    expect(versionAtLeast(undefined, 6, 2)).toBe(false);
    expect(versionAtLeast("", 6, 2)).toBe(false);
    expect(versionAtLeast("unknown", 0, 0)).toBe(false);
  });
});

describe("configPairs", () => {
  it("turns CONFIG GET's flat reply into a map", () => {
    expect(Object.fromEntries(configPairs(["dir", "/var/lib/redis"]))).toEqual({
      dir: "/var/lib/redis",
    });
  });

  it("reads several pairs (a CONFIG GET pattern)", () => {
    const pairs = configPairs(["appendonly", "no", "appendfilename", "appendonly.aof"]);
    expect(pairs.get("appendonly")).toBe("no");
    expect(pairs.get("appendfilename")).toBe("appendonly.aof");
  });

  it("drops a dangling name without a value", () => {
    expect([...configPairs(["dir", "/data", "dbfilename"])]).toEqual([["dir", "/data"]]);
  });

  it("returns an empty map for a reply that is not an array", () => {
    expect(configPairs(null).size).toBe(0);
    expect(configPairs("ERR unknown command").size).toBe(0);
  });

  it("stringifies non-string elements", () => {
    expect(configPairs(["maxmemory", 0]).get("maxmemory")).toBe("0");
  });
});
