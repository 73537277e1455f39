import { describe, expect, it } from "vitest";
import type { StepContext } from "../../src/engine/step-context.js";
import { fenceCommands } from "../../src/engine/steps/fence.js";
import { promote } from "../../src/engine/steps/promote.js";
import { restoreCommands } from "../../src/engine/steps/sentinel.js";
import { ref } from "../../src/plan/planner.js";
import { cliProgramFor, cliProgramOf, redisCli } from "../../src/plan/redis-cli.js";
import type { Plan } from "../../src/plan/types.js";
import { cluster, down, host, master, replica, topology } from "./fixtures.js";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const d = host("machine-d", 14);
const valkey = { server: "Valkey 8.0.1" };
const redis = { server: "Redis 7.0.15" };

describe("the CLI named in hand-out commands", () => {
  it("follows the server's flavour: valkey-cli for Valkey, redis-cli for Redis or when unknown", () => {
    expect(cliProgramOf("Valkey 8.0.1")).toBe("valkey-cli");
    expect(cliProgramOf("Redis 7.0.15")).toBe("redis-cli");
    expect(cliProgramOf("KeyDB 6.3.4")).toBe("redis-cli");
    expect(cliProgramOf(undefined)).toBeUndefined();
  });

  it("takes a silent host's flavour from the servers that answered, when they all agree", () => {
    const valkeyCluster = topology([
      down(a, "no answer within 1000 ms"),
      replica(b, a, { offset: 10, link: "down", ...valkey }),
      replica(d, a, { offset: 10, link: "down", ...valkey }),
    ]);
    expect(cliProgramFor(valkeyCluster, "machine-b")).toBe("valkey-cli");
    expect(cliProgramFor(valkeyCluster, "machine-a")).toBe("valkey-cli");
    expect(cliProgramFor(valkeyCluster)).toBe("valkey-cli");
    const mixed = topology([
      down(a),
      replica(b, a, { offset: 10, link: "down", ...valkey }),
      replica(d, a, { offset: 10, link: "down", ...redis }),
    ]);
    expect(cliProgramFor(mixed, "machine-d")).toBe("redis-cli");
    expect(cliProgramFor(mixed, "machine-b")).toBe("valkey-cli");
    expect(cliProgramFor(mixed, "machine-a")).toBe("redis-cli");
    expect(cliProgramFor(topology([down(a)]), "machine-a")).toBe("redis-cli");
    expect(cliProgramFor(undefined, "machine-a")).toBe("redis-cli");
  });

  it("keeps the cluster's TLS and ACL flags whatever the program", () => {
    const withTls = {
      tls: { caFile: "/etc/valkey/ca.pem" },
      redisUsernameEnv: "CACHE_USER",
      redisPasswordEnv: "CACHE_PASSWORD",
    };
    expect(redisCli(withTls, ref(a), "valkey-cli")).toBe(
      `valkey-cli -h ${a.redis.host} -p ${a.redis.port} --tls --cacert /etc/valkey/ca.pem --user "$CACHE_USER" --askpass`,
    );
    expect(fenceCommands({ host: ref(a), newMaster: ref(b) }, {}, "valkey-cli")).toEqual([
      `valkey-cli -h ${a.redis.host} -p ${a.redis.port} REPLICAOF ${b.redis.host} ${b.redis.port}`,
      `valkey-cli -h ${a.redis.host} -p ${a.redis.port} CONFIG REWRITE`,
    ]);
    expect(fenceCommands({ host: ref(a), newMaster: ref(b) }, {})[0]).toMatch(/^redis-cli -h /);
  });

  it("is used by a step's advice and the put-back commands for a Valkey cluster's Sentinels", () => {
    const inventory = cluster([a, b], { redisPasswordEnv: "CACHE_PASSWORD" });
    const plan = {
      topology: topology([
        master(a, [], valkey),
        replica(b, a, { offset: 0, link: "up", ...valkey }),
      ]),
    } as Plan;
    const context = { cluster: inventory, plan } as StepContext;
    expect(promote.advice({ kind: "promote", host: ref(b) }, context).join("\n")).toContain(
      `\`valkey-cli -h ${b.redis.host} -p ${b.redis.port} --askpass ROLE\``,
    );
    const settings = {
      quorum: 2,
      downAfterMs: 30_000,
      failoverTimeoutMs: 180_000,
      parallelSyncs: 1,
    };
    const commands = restoreCommands(
      context,
      "mymaster",
      [{ host: "10.0.0.30", port: 26379, settings }],
      ref(b),
    );
    expect(commands[0]).toBe(
      `valkey-cli -h 10.0.0.30 -p 26379 SENTINEL MONITOR mymaster ${b.redis.host} ${b.redis.port} 2`,
    );
    expect(commands[1]).toMatch(/^valkey-cli .* auth-pass "\$CACHE_PASSWORD"$/);
  });
});
