import { FailoverError } from "../../errors.js";
import { asidePath, remote } from "../../plan/commands.js";
import type { StepSpec } from "../../plan/types.js";
import { parseRedisConf } from "../../topology/redis-conf.js";
import type { StepImplementation } from "../step-context.js";

type Spec = Extract<StepSpec, { kind: "prepare-spare" }>;

/**
 * Redis prefers an AOF over the RDB at start-up, and with `appendonly yes` it ignores the RDB
 * entirely. So old AOF files are renamed (kept), and AOF is switched off in redis.conf for the
 * first start; the enable-aof step turns it back on from the loaded data.
 */
export const prepareSpare: StepImplementation<Spec> = {
  async run(spec, context) {
    const movedAside = context.facts.movedAside ?? [];
    for (const path of spec.moveAside) {
      const aside = asidePath(path, context.runId);
      await context.shell(spec.host, remote.moveAsideIfPresent(path, aside));
      movedAside.push({ from: path, to: aside });
    }
    context.facts.movedAside = movedAside;
    if (spec.disableAofIn && !context.facts.aofDisabledIn) {
      const suffix = `.before-${context.runId}`;
      await context.shell(spec.host, remote.disableAof(spec.disableAofIn, suffix));
      context.facts.aofDisabledIn = {
        config: spec.disableAofIn,
        backup: `${spec.disableAofIn}${suffix}`,
      };
    }
    if (spec.disableAofIn) {
      const config = await context
        .remote(spec.host)
        .exec(remote.readConfig(spec.disableAofIn), { timeoutMs: 30_000 });
      if (parseRedisConf(config.stdout).appendonly === true) {
        throw new FailoverError(
          "VERIFY_FAILED",
          `${spec.disableAofIn} on ${spec.host.name} still says appendonly yes (is it set twice, or in an included file?)`,
        );
      }
      context.output(
        `${spec.disableAofIn} now has appendonly no (original kept as ${context.facts.aofDisabledIn?.backup}).`,
      );
    }
  },
  advice(spec, context) {
    const moved = (context.facts.movedAside ?? []).map(
      (entry) => `mv -- ${entry.to} ${entry.from}`,
    );
    return [
      `Redis was not started on ${spec.host.name}. Files renamed so far can be put back with: ${moved.join("; ") || "(none were renamed)"}.`,
    ];
  },
};
