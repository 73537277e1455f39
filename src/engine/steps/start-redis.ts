import { FailoverError } from "../../errors.js";
import { remote } from "../../plan/commands.js";
import type { HostRef, StepSpec } from "../../plan/types.js";
import type { InfoFields } from "../../redis/info.js";
import { handOutCli } from "../hand-out-cli.js";
import type { StepContext, StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";
import { answers, keyspace } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "start-redis" }>;

/**
 * Starts Redis with the host's own start command and proves it came up as intended: loaded,
 * a master, and holding the snapshot's keys. Until this passes, the source replica is untouched.
 */
export const startRedis: StepImplementation<Spec> = {
  async run(spec, context) {
    const node = context.redis(spec.host);
    // Consumed here: a retried or resumed step starts Redis itself.
    const started = context.facts.startedWithCopy;
    delete context.facts.startedWithCopy;
    if (spec.startedByCopy && started?.host === spec.host.name) {
      context.output(
        `[${spec.host.name}] $ ${spec.command}   (run by the copy step's command right after the install, exit ${started.code ?? "nothing"}; its output is in the copy step)`,
      );
      if (started.code !== 0) {
        throw new FailoverError(
          "REMOTE_COMMAND_FAILED",
          `on ${spec.host.name}, \`${spec.command}\` exited with ${started.code ?? "nothing (cut off)"}: ${started.lastLines.join(" / ") || "no output"}`,
        );
      }
    } else if (spec.startedByCopy && (await answers(node))) {
      // A resumed or retried run: the copy step's command started Redis after the install
      // before the bot stopped. What it holds is proven below (role, key count), as after a start.
      context.output(
        `[${spec.host.name}] redis> PING  -> answers: started by the copy step's command right after the install; verifying it`,
      );
    } else {
      if (await answers(node)) {
        throw new FailoverError(
          "VERIFY_FAILED",
          `Redis already runs on ${spec.host.name} (${spec.host.host}:${spec.host.port}); refusing to start another`,
        );
      }
      context.output(`[${spec.host.name}] redis> PING  -> no answer (not running), as required`);
      await context.shell(spec.host, remote.start(spec.command));
    }
    const info = await waitUntil(
      async () => {
        const fields = await node.info();
        if (fields.get("loading") === "1") {
          return { done: false, detail: `loading (${fields.get("loading_loaded_perc") ?? "?"}%)` };
        }
        return { done: true, value: fields };
      },
      {
        timeoutMs: context.timeouts.startMs,
        what: `Redis on ${spec.host.name} to start and finish loading`,
        onProgress: (detail) => context.output(`  ${detail}`),
      },
    );
    verifyStarted(spec, info, context);
  },
  async alreadyDone(spec, context) {
    try {
      const info = await context.redis(spec.host).info();
      if (info.get("loading") === "1") return undefined;
      verifyStarted(spec, info, { ...context, output: () => {} });
      return `Redis already runs on ${spec.host.name} as a master with the expected data`;
    } catch {
      return undefined;
    }
  },
  advice(spec, context) {
    const cli = handOutCli(context, spec.host);
    return [
      `The source replica is untouched and still holds its data.`,
      `Check Redis on ${spec.host.name}: its log, and \`${cli} INFO\` if it runs. It is not announced to clients; if it holds the wrong data, stop it (\`${cli} SHUTDOWN NOSAVE\`) before planning again.`,
      ...(context.facts.aofDisabledIn
        ? [
            `${context.facts.aofDisabledIn.config} was edited (appendonly no); the original is ${context.facts.aofDisabledIn.backup}.`,
          ]
        : []),
    ];
  },
};

function verifyStarted(
  spec: Spec,
  info: InfoFields,
  context: Pick<StepContext, "facts" | "output">,
): void {
  const host: HostRef = spec.host;
  if (info.get("role") !== "master") {
    throw new FailoverError(
      "VERIFY_FAILED",
      `Redis on ${host.name} started as ${info.get("role")} of ${info.get("master_host")}:${info.get("master_port")}, not as a master (is replicaof set in its redis.conf?)`,
    );
  }
  const { keys } = keyspace(info);
  if (spec.expectKeys === "empty") {
    if (keys !== 0)
      throw new FailoverError(
        "VERIFY_FAILED",
        `Redis on ${host.name} started with ${keys} keys; expected it empty`,
      );
    context.output(`Redis on ${host.name}: role:master, loading:0, empty, as expected.`);
    return;
  }
  const snapshot = context.facts.snapshot;
  if (!snapshot)
    throw new FailoverError("VERIFY_FAILED", "no snapshot facts: the snapshot step must run first");
  // Keys with a TTL may expire between the snapshot and the load; nothing else may differ.
  const missing = snapshot.keys - keys;
  if (missing < 0 || missing > snapshot.keysWithExpiry) {
    const aof =
      info.get("aof_enabled") === "1"
        ? " AOF is enabled there, so Redis may have ignored the RDB."
        : "";
    throw new FailoverError(
      "VERIFY_FAILED",
      `Redis on ${host.name} holds ${keys} keys but the snapshot on ${snapshot.host} had ${snapshot.keys}.${aof} The source replica was not touched.`,
    );
  }
  const expiredNote = missing > 0 ? ` (${missing} keys with a TTL expired in between)` : "";
  context.output(
    `Redis on ${host.name}: role:master, loading:0, ${keys} keys = the snapshot's${expiredNote}.`,
  );
}
