import { posix } from "node:path";
import type { ClusterConfig } from "../../config/inventory.js";
import { FailoverError } from "../../errors.js";
import { redisCommands } from "../../plan/commands.js";
import { type CliProgram, cliProgramFor, redisCli } from "../../plan/redis-cli.js";
import type { HostRef, StepSpec } from "../../plan/types.js";
import { configPairs, intField } from "../../redis/info.js";
import type { RedisNode } from "../../redis/node.js";
import { sh } from "../../remote/shell.js";
import { inspectReturnedMaster, type ReturnedMaster } from "../returned-master.js";
import type { StepContext, StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";
import { answers, followsMaster } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "fence" }>;

/**
 * An old master that returns as a master splits the brain: clients that still know it write
 * where no one reads. Reachable: make it a replica of the new master, persistently, after
 * keeping its dataset on its own disk if it holds writes the new master lacks. Unreachable
 * (or known hung: not waited on again): say so loudly and leave the exact commands.
 */
export const fence: StepImplementation<Spec> = {
  async run(spec, context) {
    const node = context.redis(spec.host);
    if (!(await answers(node))) {
      const commands = fenceCommands(
        spec,
        context.cluster,
        cliProgramFor(context.plan?.topology, spec.host.name),
      );
      context.facts.unfenced = {
        name: spec.host.name,
        commands: [
          `${spec.host.name} could not be fenced (unreachable). It must NOT come back as a master. Before or as soon as it returns, run: ${commands.join(" && ")}   (or: redis-failover fence ${context.cluster.name} --host ${spec.host.name}, which first keeps any writes it took on its own)`,
        ],
      };
      context.warn(
        `${spec.host.name} is unreachable and NOT fenced: if it comes back it will still think it is master. Run when it returns: redis-failover fence ${context.cluster.name} --host ${spec.host.name} (or by hand: ${commands.join(" && ")})`,
      );
      return;
    }
    const info = await node.info("replication");
    if (followsMaster(info, spec.newMaster)) {
      context.output(`${spec.host.name} already replicates from ${spec.newMaster.name}.`);
    } else {
      const returned = await inspectReturnedMaster(node, context.redis(spec.newMaster));
      context.output(returned.summary);
      if (returned.role === "master" && returned.keys > 0 && returned.divergence.diverged !== false)
        await keepDataset(spec, context, node, returned);
      else context.output(`Its data is replaced by ${spec.newMaster.name}'s; nothing is lost.`);
      await context.command(
        spec.host,
        redisCommands.replicaOf(spec.newMaster.host, spec.newMaster.port),
      );
    }
    await waitUntil(
      async () => {
        const replication = await node.info("replication");
        return followsMaster(replication, spec.newMaster)
          ? { done: true, value: undefined }
          : { done: false, detail: `role:${replication.get("role")}` };
      },
      { timeoutMs: context.timeouts.commandMs * 2, what: `${spec.host.name} to become a replica` },
    );
    await context.command(spec.host, redisCommands.configRewrite);
    delete context.facts.unfenced;
  },
  advice(spec, context) {
    return [
      `Fence ${spec.host.name} by hand before it serves clients: ${fenceCommands(spec, context.cluster, cliProgramFor(context.plan?.topology, spec.host.name)).join(" && ")}`,
    ];
  },
};

/**
 * Saves the returning master's dataset and keeps it as `<dbfilename>.before-<runId>` in its
 * data directory. With SSH: a fresh save, then a hard link (`ln` refuses to overwrite; the
 * link keeps the file when Redis later renames a new dump over dbfilename). Without SSH: the
 * save is written under the kept name directly (CONFIG SET dbfilename), and dbfilename is put
 * back whatever happens, before anything else runs.
 */
async function keepDataset(
  spec: Spec,
  context: StepContext,
  node: RedisNode,
  returned: ReturnedMaster,
): Promise<void> {
  const [dirReply, fileReply] = await Promise.all([
    node.call("CONFIG", "GET", "dir"),
    node.call("CONFIG", "GET", "dbfilename"),
  ]);
  const dir = configPairs(dirReply).get("dir");
  const dbfilename = configPairs(fileReply).get("dbfilename");
  if (!dir || !dbfilename) {
    throw new FailoverError(
      "VERIFY_FAILED",
      `${spec.host.name} holds writes ${spec.newMaster.name} lacks, and CONFIG GET dir/dbfilename failed, so they cannot be kept; it was left a master`,
    );
  }
  const keptName = `${dbfilename}.before-${context.runId}`;
  const kept = posix.join(dir, keptName);
  const host = context.cluster.hosts.find((candidate) => candidate.name === spec.host.name);
  let bytes: number | undefined;
  if (host && host.transport.kind !== "none") {
    await freshSave(spec.host, node, context);
    const result = await context.shell(
      spec.host,
      sh`ln -- ${posix.join(dir, dbfilename)} ${kept} && wc -c < ${kept}`,
    );
    bytes = Number(result.stdout.trim()) || undefined;
  } else {
    await context.command(spec.host, ["CONFIG", "SET", "dbfilename", keptName]);
    try {
      await freshSave(spec.host, node, context);
    } finally {
      await context.command(spec.host, ["CONFIG", "SET", "dbfilename", dbfilename]);
    }
  }
  const entry: NonNullable<typeof context.facts.kept>[number] = {
    host: spec.host.name,
    path: kept,
    keys: returned.keys,
    why: returned.divergence.reason,
  };
  if (returned.divergence.diverged === true) entry.divergedBytes = returned.divergence.bytes;
  context.facts.kept = [...(context.facts.kept ?? []), entry];
  context.warn(
    `${spec.host.name} ${returned.divergence.diverged === true ? `held ${returned.divergence.bytes} bytes of writes` : "may have held writes"} that ${spec.newMaster.name} lacks: its dataset (${returned.keys} keys${bytes ? `, ${bytes} bytes` : ""}) is kept on ${spec.host.name} as ${kept} before it resynchronises. Inspect it with redis-check-rdb or load it into a scratch server to recover them.`,
  );
}

/** A save that finished after this call began, proven by rdb_saves (or LASTSAVE) advancing. */
async function freshSave(ref: HostRef, node: RedisNode, context: StepContext): Promise<void> {
  const idle = () =>
    waitUntil(
      async () => {
        const persistence = await node.info("persistence");
        return persistence.get("rdb_bgsave_in_progress") === "1"
          ? { done: false, detail: "a background save is running" }
          : { done: true, value: persistence };
      },
      { timeoutMs: context.timeouts.snapshotMs, what: `${ref.name} to finish its save` },
    );
  const before = await idle();
  const saves = intField(before, "rdb_saves");
  if (saves === undefined) {
    // Older servers have no save counter; a blocking SAVE is certain, and this master is
    // about to be emptied anyway.
    await context.command(ref, redisCommands.save);
    return;
  }
  await context.command(ref, ["BGSAVE", "SCHEDULE"]);
  const after = await waitUntil(
    async () => {
      const persistence = await node.info("persistence");
      return (intField(persistence, "rdb_saves") ?? 0) > saves &&
        persistence.get("rdb_bgsave_in_progress") !== "1"
        ? { done: true, value: persistence }
        : { done: false, detail: "saving" };
    },
    { timeoutMs: context.timeouts.snapshotMs, what: `${ref.name}'s save` },
  );
  if (after.get("rdb_last_bgsave_status") !== "ok") {
    throw new FailoverError(
      "VERIFY_FAILED",
      `${ref.name} could not save its dataset (rdb_last_bgsave_status:${after.get("rdb_last_bgsave_status")}); it was left a master so that nothing is lost`,
    );
  }
}

export function fenceCommands(
  spec: Pick<Spec, "host" | "newMaster">,
  cluster: Pick<ClusterConfig, "tls" | "redisUsernameEnv" | "redisPasswordEnv">,
  program: CliProgram = "redis-cli",
): string[] {
  const cli = redisCli(cluster, spec.host, program);
  return [
    `${cli} REPLICAOF ${spec.newMaster.host} ${spec.newMaster.port}`,
    `${cli} CONFIG REWRITE`,
  ];
}
