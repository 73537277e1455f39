import { FailoverError } from "../../errors.js";
import { redisCommands } from "../../plan/commands.js";
import type { HostRef, StepSpec } from "../../plan/types.js";
import { handOutCli } from "../hand-out-cli.js";
import type { StepContext, StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";
import { followsMaster, masterOffset, replicaOffset } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "replicate" }>;

/**
 * REPLICAOF discards the replica's dataset, so the master is checked first (answers, is a
 * master, finished loading); then the link and the offsets prove the replica caught up.
 */
export const replicate: StepImplementation<Spec> = {
  async run(spec, context) {
    await requireMaster(spec.master, context);
    await context.command(
      spec.replica,
      redisCommands.replicaOf(spec.master.host, spec.master.port),
    );
    await waitForSync(spec.replica, spec.master, context);
    await context.command(spec.replica, redisCommands.configRewrite);
  },
  async alreadyDone(spec, context) {
    const info = await context.redis(spec.replica).info("replication");
    return followsMaster(info, spec.master) && info.get("master_link_status") === "up"
      ? `${spec.replica.name} already replicates from ${spec.master.name} (link up)`
      : undefined;
  },
  advice(spec, context) {
    return [
      `${spec.master.name} is the new master. Check ${spec.replica.name} with \`${handOutCli(context, spec.replica)} INFO replication\`: if its link is still syncing, it may only need more time; otherwise run REPLICAOF ${spec.master.host} ${spec.master.port} there again, then CONFIG REWRITE.`,
    ];
  },
};

async function requireMaster(master: HostRef, context: StepContext): Promise<void> {
  const info = await context.redis(master).info();
  if (info.get("role") !== "master" || info.get("loading") === "1") {
    throw new FailoverError(
      "VERIFY_FAILED",
      `${master.name} is not ready to be followed (role:${info.get("role")}, loading:${info.get("loading")})`,
    );
  }
}

/** Waits for link up, then for the replica to reach the master's offset as sampled once the link is up. */
export async function waitForSync(
  replica: HostRef,
  master: HostRef,
  context: StepContext,
): Promise<void> {
  const replicaNode = context.redis(replica);
  await waitUntil(
    async () => {
      const info = await replicaNode.info("replication");
      if (!followsMaster(info, master))
        return { done: false, detail: `not yet following ${master.name}` };
      if (info.get("master_link_status") === "up") return { done: true, value: undefined };
      const syncing = info.get("master_sync_in_progress") === "1";
      const left = info.get("master_sync_left_bytes");
      return {
        done: false,
        detail: syncing
          ? `full sync in progress${left && left !== "-1" ? ` (${left} bytes left)` : ""}`
          : "master_link_status:down",
      };
    },
    {
      timeoutMs: context.timeouts.syncMs,
      what: `${replica.name} to sync from ${master.name}`,
      onProgress: (detail) => context.output(`  ${detail}`),
    },
  );
  const target = await masterOffset(context.redis(master));
  const reached = await waitUntil(
    async () => {
      const offset = replicaOffset(await replicaNode.info("replication"));
      return offset >= target
        ? { done: true, value: offset }
        : { done: false, detail: `offset ${offset} of ${target}` };
    },
    {
      timeoutMs: context.timeouts.syncMs,
      what: `${replica.name} to reach ${master.name}'s offset ${target}`,
    },
  );
  context.output(
    `  master_link_status:up; ${replica.name} offset ${reached} >= ${master.name}'s ${target}`,
  );
}
