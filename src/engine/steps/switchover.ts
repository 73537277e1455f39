import { errorMessage, FailoverError } from "../../errors.js";
import { redisCommands, showRedis } from "../../plan/commands.js";
import type { StepSpec } from "../../plan/types.js";
import { type InfoFields, intField, parseInfo } from "../../redis/info.js";
import { handOutCli } from "../hand-out-cli.js";
import type { StepContext, StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";
import { followsMaster, masterOffset, replicaOffset } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "switchover" }>;

/**
 * Hands the master role over with no acknowledged write lost. FAILOVER (Redis 6.2+) pauses
 * writes until the target has the master's full offset and rolls back on timeout. Older
 * servers: writes are frozen atomically with reading the offset (MULTI), the target catches
 * up, then roles swap; writes that waited are refused by the now-replica, never lost. Before
 * 6.2 a pause blocks every command, so writes are refused outright (min-replicas-to-write)
 * rather than queued behind the pause, where they would land on the old master.
 */
export const switchover: StepImplementation<Spec> = {
  async run(spec, context) {
    if (spec.method === "failover-command") await viaFailoverCommand(spec, context);
    else await viaClientPause({ ...spec, method: spec.method }, context);
    await context.command(spec.master, redisCommands.configRewrite);
    await context.command(spec.target, redisCommands.configRewrite);
  },
  async alreadyDone(spec, context) {
    const [masterInfo, targetInfo] = await Promise.all([
      context.redis(spec.master).info("replication"),
      context.redis(spec.target).info("replication"),
    ]);
    return targetInfo.get("role") === "master" && followsMaster(masterInfo, spec.target)
      ? `${spec.target.name} is already master and ${spec.master.name} its replica`
      : undefined;
  },
  advice(spec, context) {
    return [
      `Check both servers: \`${handOutCli(context, spec.master)} ROLE\` and \`${handOutCli(context, spec.target)} ROLE\`. If ${spec.master.name} is still master, nothing changed and clients were never redirected; find why ${spec.target.name} could not catch up (lag, network) and plan again.`,
    ];
  },
};

async function viaFailoverCommand(spec: Spec, context: StepContext): Promise<void> {
  const master = context.redis(spec.master);
  await context.command(
    spec.master,
    redisCommands.failoverTo(spec.targetAnnounced.ip, spec.targetAnnounced.port, spec.timeoutMs),
  );
  const settled = () =>
    waitUntil(
      async () => {
        const fields = await master.info("replication");
        const state = fields.get("master_failover_state") ?? "no-failover";
        return state === "no-failover"
          ? { done: true, value: fields }
          : { done: false, detail: `master_failover_state:${state}` };
      },
      {
        timeoutMs: spec.timeoutMs + context.timeouts.commandMs * 2,
        intervalMs: 10,
        maxIntervalMs: 100,
        what: `FAILOVER on ${spec.master.name} to complete`,
        onProgress: (detail) => context.output(`  ${detail}`),
      },
    );
  let info: InfoFields;
  try {
    info = await settled();
  } catch (error) {
    // FAILOVER's own timeout covers only waiting-for-sync; a target that stops answering during
    // the hand-over itself would leave the master with writes paused. Abort to roll back.
    context.output(`  ${errorMessage(error)}; aborting the hand-over`);
    await context.command(spec.master, ["FAILOVER", "ABORT"]).catch(() => undefined);
    info = await settled();
  }
  if (!followsMaster(info, spec.target)) {
    throw new FailoverError(
      "VERIFY_FAILED",
      `FAILOVER did not complete: ${spec.master.name} is still ${info.get("role")} (it rolls back when ${spec.target.name} cannot catch up within ${spec.timeoutMs} ms, or when aborted); nothing changed`,
    );
  }
  await requireRole(spec.target.name, context.redis(spec.target).info("replication"), "master");
  context.output(
    `  ${spec.master.name} is now a replica of ${spec.target.name}; ${spec.target.name} is master.`,
  );
}

async function viaClientPause(
  spec: Spec & { method: "client-pause" | "refuse-writes" },
  context: StepContext,
): Promise<void> {
  const master = context.redis(spec.master);
  const freeze = redisCommands.switchoverFreeze(spec.method, spec.pauseMs ?? spec.timeoutMs);
  for (const command of freeze) context.output(showRedis(spec.master.name, command));
  const replies = await master.transaction(freeze);
  const frozen = parseInfo(String(replies[replies.length - 1]));
  let target = intField(frozen, "master_repl_offset") ?? 0;
  context.output(`  writes frozen at offset ${target}`);
  const restore = redisCommands.switchoverRestore(spec.method, spec.restoreConfig);
  const restoreWrites = async () => {
    for (const command of restore) await context.command(spec.master, command);
  };
  let promoted = false;
  try {
    const deadline = Date.now() + spec.timeoutMs;
    // The target must hold the master's offset, and that offset must be final: a replication
    // PING or an expiry can still move it while client writes are held back.
    for (;;) {
      const reached = await waitUntil(
        async () => {
          const offset = replicaOffset(await context.redis(spec.target).info("replication"));
          return offset >= target
            ? { done: true, value: offset }
            : { done: false, detail: `offset ${offset} of ${target}` };
        },
        {
          timeoutMs: Math.max(0, deadline - Date.now()),
          intervalMs: 5,
          maxIntervalMs: 50,
          what: `${spec.target.name} to reach offset ${target}`,
        },
      );
      const now = await masterOffset(master);
      if (now === target) {
        context.output(
          `  ${spec.target.name} reached offset ${reached}; ${spec.master.name}'s offset is still ${target}`,
        );
        break;
      }
      if (Date.now() >= deadline) {
        throw new FailoverError(
          "TIMEOUT",
          `${spec.master.name}'s offset kept moving (${target} -> ${now}) while writes were held back`,
        );
      }
      context.output(`  ${spec.master.name}'s offset moved to ${now}; waiting for it again`);
      target = now;
    }
    await context.command(spec.target, redisCommands.promote);
    promoted = true;
    await context.command(spec.master, redisCommands.replicaOf(spec.target.host, spec.target.port));
  } catch (error) {
    context.output(`  ${errorMessage(error)}: putting ${spec.master.name} back as it was`);
    if (promoted) {
      // The target took no client write yet (clients still reach the old master): it simply
      // follows the old master again, which still has every write.
      await context
        .command(spec.target, redisCommands.replicaOf(spec.master.host, spec.master.port))
        .catch((undo: unknown) =>
          context.warn(
            `${spec.target.name} is a master and could not be put back under ${spec.master.name} (${errorMessage(undo)}): run REPLICAOF ${spec.master.host} ${spec.master.port} on it`,
          ),
        );
    }
    await restoreWrites().catch((undo: unknown) =>
      context.warn(
        `writes on ${spec.master.name} could not be restored (${errorMessage(undo)}): run ${restore.map((command) => command.join(" ")).join(" and ")} on it now`,
      ),
    );
    throw error;
  }
  await restoreWrites();
}

async function requireRole(
  name: string,
  pending: Promise<InfoFields>,
  role: "master",
): Promise<void> {
  const info = await pending;
  if (info.get("role") !== role) {
    throw new FailoverError(
      "VERIFY_FAILED",
      `${name} reports role:${info.get("role")}, expected ${role}`,
    );
  }
}
