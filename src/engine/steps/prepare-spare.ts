import { FailoverError } from "../../errors.js";
import { asidePath, remote } from "../../plan/commands.js";
import type { StepSpec } from "../../plan/types.js";
import { parseRedisConf } from "../../topology/redis-conf.js";
import type { StepImplementation } from "../step-context.js";

type Spec = Extract<StepSpec, { kind: "prepare-spare" }>;

/**
 * One remote command (remote.prepareSpare) does all of it. Redis prefers an AOF over the RDB at start-up, and with `appendonly yes` it ignores the RDB
 * entirely. So old AOF files are renamed (kept), and AOF is switched off in redis.conf for the
 * first start; the enable-aof step turns it back on from the loaded data.
 */
export const prepareSpare: StepImplementation<Spec> = {
  async run(spec, context) {
    const moves = spec.moveAside.map((path) => ({ path, aside: asidePath(path, context.runId) }));
    const suffix = `.before-${context.runId}`;
    // On a resumed run AOF may already be off: sed must not overwrite the kept original.
    const disable =
      spec.disableAofIn && !context.facts.aofDisabledIn
        ? { configPath: spec.disableAofIn, backupSuffix: suffix }
        : undefined;
    const movedAside = context.facts.movedAside ?? [];
    context.facts.movedAside = movedAside;
    const result = await context.shell(
      spec.host,
      remote.prepareSpare(moves, disable, spec.disableAofIn),
      { allowFailure: true },
    );
    for (const match of result.stdout.matchAll(/^kept aside (\d+)$/gm)) {
      const move = moves[Number(match[1])];
      if (move) movedAside.push({ from: move.path, to: move.aside });
    }
    if (disable && /^aof off$/m.test(result.stdout)) {
      context.facts.aofDisabledIn = {
        config: disable.configPath,
        backup: `${disable.configPath}${suffix}`,
      };
    }
    if (result.code !== 0) {
      throw new FailoverError(
        "REMOTE_COMMAND_FAILED",
        `on ${spec.host.name}, preparing the spare failed (exit ${result.code ?? result.signal}): ${result.stderr.trim() || "no output"}`,
      );
    }
    if (spec.disableAofIn) {
      if (parseRedisConf(result.stdout).appendonly === true) {
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
