import type { CheckRdbTool, HostFacts, NodeState } from "../topology/types.js";
import type { StepSpec } from "./types.js";

/**
 * The RDB checker to run on the spare for a snapshot `source` wrote: the source's own
 * flavour's first, as it knows the RDB versions its server writes (Redis 7.0's redis-check-rdb
 * refuses the version-11 files of Valkey 8), else whichever the spare has; none when it has neither.
 */
export function chooseCheckRdb(
  tools: HostFacts["tools"],
  source: Pick<NodeState, "server">,
): CheckRdbTool | undefined {
  const available: Record<CheckRdbTool, boolean> = {
    "redis-check-rdb": tools.redisCheckRdb,
    "valkey-check-rdb": tools.valkeyCheckRdb === true,
  };
  const order: CheckRdbTool[] = /^valkey\b/i.test(source.server ?? "")
    ? ["valkey-check-rdb", "redis-check-rdb"]
    : ["redis-check-rdb", "valkey-check-rdb"];
  return order.find((tool) => available[tool]);
}

/** The checker a copy step runs, or undefined when it checks only sizes and hashes. */
export function checkRdbToolOf(
  spec: Pick<Extract<StepSpec, { kind: "copy-rdb" }>, "checkRdb" | "checkRdbTool">,
): CheckRdbTool | undefined {
  return spec.checkRdb ? (spec.checkRdbTool ?? "redis-check-rdb") : undefined;
}
