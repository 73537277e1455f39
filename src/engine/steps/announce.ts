import { FailoverError } from "../../errors.js";
import { discoveryValue, redisCommands } from "../../plan/commands.js";
import type { StepSpec } from "../../plan/types.js";
import type { StepImplementation } from "../step-context.js";
import { answers } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "announce" }>;

/**
 * Clients learn the new master three ways: the discovery key they read at connect time,
 * a message on the channel of the same name for those listening, and a disconnect from
 * servers whose role changed so that they reconnect and read the key again.
 */
export const announce: StepImplementation<Spec> = {
  async run(spec, context) {
    const value = discoveryValue(spec.newMaster.host, spec.newMaster.port);
    if (spec.discovery) {
      const config = context.connections.discovery();
      await context.commandOn(config, redisCommands.set(spec.discovery.key, value));
      const stored = await config.call("GET", spec.discovery.key);
      if (stored !== value) {
        throw new FailoverError(
          "VERIFY_FAILED",
          `the discovery key ${spec.discovery.key} reads back ${String(stored)}`,
        );
      }
      const receivers = await context.commandOn(
        config,
        redisCommands.publish(spec.discovery.key, value),
      );
      context.output(`  ${receivers} subscriber(s) notified on ${spec.discovery.key}`);
    } else {
      context.warn(
        `No discovery key is configured for ${context.cluster.name}: point clients at ${spec.newMaster.host}:${spec.newMaster.port} by hand.`,
      );
    }
    for (const ref of spec.reconnectClientsOn) {
      if (!(await answers(context.redis(ref)))) {
        context.output(`  ${ref.name} does not answer; no clients to disconnect there`);
        continue;
      }
      await context.command(ref, redisCommands.killNormalClients);
    }
  },
  advice(spec) {
    return [
      `The new master ${spec.newMaster.name} (${spec.newMaster.host}:${spec.newMaster.port}) is in place; only telling clients failed. Set ${spec.discovery?.key ?? "the client configuration"} to ${discoveryValue(spec.newMaster.host, spec.newMaster.port)} by hand.`,
    ];
  },
};
