import { FailoverError } from "../../errors.js";
import { redisCommands } from "../../plan/commands.js";
import type { StepSpec } from "../../plan/types.js";
import type { StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";

type Spec = Extract<StepSpec, { kind: "enable-aof" }>;

/** AOF back on, rebuilt from the loaded data, and written to redis.conf so a restart keeps it. */
export const enableAof: StepImplementation<Spec> = {
  async run(spec, context) {
    const node = context.redis(spec.host);
    await context.command(spec.host, redisCommands.enableAof);
    await waitUntil(
      async () => {
        const info = await node.info("persistence");
        const rewriting =
          info.get("aof_rewrite_in_progress") === "1" || info.get("aof_rewrite_scheduled") === "1";
        if (info.get("aof_enabled") === "1" && !rewriting) {
          if (info.get("aof_last_bgrewrite_status") !== "ok") {
            throw new FailoverError(
              "VERIFY_FAILED",
              `the AOF rewrite on ${spec.host.name} failed: aof_last_bgrewrite_status:${info.get("aof_last_bgrewrite_status")}`,
            );
          }
          return { done: true, value: undefined };
        }
        return {
          done: false,
          detail: `aof_enabled:${info.get("aof_enabled")}, rewrite ${rewriting ? "running" : "pending"}`,
        };
      },
      {
        timeoutMs: context.timeouts.snapshotMs,
        what: `the AOF rewrite on ${spec.host.name}`,
        onProgress: (detail) => context.output(`  ${detail}`),
      },
    );
    await context.command(spec.host, redisCommands.configRewrite);
  },
  async alreadyDone(spec, context) {
    const info = await context.redis(spec.host).info("persistence");
    return info.get("aof_enabled") === "1" && info.get("aof_rewrite_in_progress") === "0"
      ? `AOF is already on on ${spec.host.name}`
      : undefined;
  },
  advice(spec) {
    return [
      `Redis on ${spec.host.name} runs with the snapshot's data but AOF is not confirmed on. The failover itself is safe to finish by hand: turn AOF on (CONFIG SET appendonly yes, CONFIG REWRITE) once the rewrite problem (disk space?) is fixed.`,
    ];
  },
};
