import { redisCommands } from "../../plan/commands.js";
import type { StepSpec } from "../../plan/types.js";
import { keyCount } from "../../redis/info.js";
import type { StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";
import { answers, followsMaster } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "fence" }>;

/**
 * An old master that returns as a master splits the brain: clients that still know it write
 * where no one reads. Reachable: make it a replica of the new master, persistently.
 * Unreachable: say so loudly and leave the exact commands for when it returns.
 */
export const fence: StepImplementation<Spec> = {
  async run(spec, context) {
    const node = context.redis(spec.host);
    if (!(await answers(node))) {
      const commands = fenceCommands(spec);
      context.facts.unfenced = {
        name: spec.host.name,
        commands: [
          `${spec.host.name} could not be fenced (unreachable). It must NOT come back as a master. Before or as soon as it returns, run: ${commands.join(" && ")}   (or: redis-failover fence ${context.cluster.name})`,
        ],
      };
      context.warn(
        `${spec.host.name} is unreachable and NOT fenced: if it comes back it will still think it is master. Run when it returns: ${commands.join(" && ")}`,
      );
      return;
    }
    const info = await node.info();
    if (followsMaster(info, spec.newMaster)) {
      context.output(`${spec.host.name} already replicates from ${spec.newMaster.name}.`);
    } else {
      context.output(
        `${spec.host.name} answers as ${info.get("role")} with ${keyCount(info)} keys at offset ${info.get("master_repl_offset")}; its data is replaced by ${spec.newMaster.name}'s.`,
      );
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
  advice(spec) {
    return [
      `Fence ${spec.host.name} by hand before it serves clients: ${fenceCommands(spec).join(" && ")}`,
    ];
  },
};

export function fenceCommands(spec: Pick<Spec, "host" | "newMaster">): string[] {
  const cli = `redis-cli -h ${spec.host.host} -p ${spec.host.port}`;
  return [
    `${cli} REPLICAOF ${spec.newMaster.host} ${spec.newMaster.port}`,
    `${cli} CONFIG REWRITE`,
  ];
}
