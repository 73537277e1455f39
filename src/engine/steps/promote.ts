import { redisCommands } from "../../plan/commands.js";
import type { StepSpec } from "../../plan/types.js";
import { handOutCli } from "../hand-out-cli.js";
import type { StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";

type Spec = Extract<StepSpec, { kind: "promote" }>;

export const promote: StepImplementation<Spec> = {
  async run(spec, context) {
    const node = context.redis(spec.host);
    await context.command(spec.host, redisCommands.promote);
    await waitUntil(
      async () => {
        const role = await node.call("ROLE");
        const name = Array.isArray(role) ? String(role[0]) : "";
        return name === "master"
          ? { done: true, value: undefined }
          : { done: false, detail: `ROLE ${name}` };
      },
      {
        timeoutMs: context.timeouts.commandMs * 2,
        what: `${spec.host.name} to report ROLE master`,
      },
    );
    context.output(`[${spec.host.name}] ROLE -> master`);
    await context.command(spec.host, redisCommands.configRewrite);
  },
  async alreadyDone(spec, context) {
    const role = await context.redis(spec.host).call("ROLE");
    return Array.isArray(role) && role[0] === "master"
      ? `${spec.host.name} is already a master`
      : undefined;
  },
  advice(spec, context) {
    return [
      `Check ${spec.host.name} with \`${handOutCli(context, spec.host)} ROLE\`. If it became master, finish by hand: repoint the other replicas to it and update clients; otherwise plan again.`,
    ];
  },
};
