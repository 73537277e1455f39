import type { Logger } from "pino";
import type { ClusterConfig, Timeouts } from "../config/inventory.js";
import { FailoverError } from "../errors.js";
import { type RedisCommand, showRedis, showShell } from "../plan/commands.js";
import type { HostRef, Plan, SentinelRef, StepSpec } from "../plan/types.js";
import type { RedisNode } from "../redis/node.js";
import type { ShellCommand } from "../remote/shell.js";
import type { ExecOptions, ExecResult, RemoteHost } from "../remote/types.js";
import type { Connections } from "./connections.js";
import type { RunFacts } from "./events.js";

/** Everything a step may use; steps never reach for globals. */
export interface StepContext {
  readonly runId: string;
  readonly plan: Plan;
  readonly cluster: ClusterConfig;
  readonly connections: Connections;
  readonly facts: RunFacts;
  readonly log: Logger;
  readonly timeouts: Timeouts;
  /** Adds text (one or more lines) to the step's visible output. */
  output(text: string): void;
  /** Something the operator must know even though the step succeeded. */
  warn(text: string): void;
  redis(ref: HostRef): RedisNode;
  /** A declared Sentinel (inventory sentinel.hosts). */
  sentinel(ref: SentinelRef): RedisNode;
  remote(ref: HostRef): RemoteHost;
  /** Runs a Redis command, showing it and its reply in the output. */
  command(ref: HostRef, command: RedisCommand): Promise<unknown>;
  /** The same on a server outside the cluster (the config Redis holding the discovery key). */
  commandOn(node: RedisNode, command: RedisCommand): Promise<unknown>;
  /** Runs a remote command, showing it and streaming its output; a non-zero exit throws. */
  shell(
    ref: HostRef,
    command: ShellCommand,
    options?: ExecOptions & { allowFailure?: boolean },
  ): Promise<ExecResult>;
}

export interface StepImplementation<S extends StepSpec> {
  /** Acts and verifies; throws (a FailoverError with a clear message) when the outcome is not reached. */
  run(spec: S, context: StepContext): Promise<void>;
  /** When resuming a run: a reason if the step's outcome already holds, so it is skipped, not redone. */
  alreadyDone?(spec: S, context: StepContext): Promise<string | undefined>;
  /** What to do next when the step failed, given what it already did. */
  advice(spec: S, context: StepContext): string[];
}

export function createStepContext(base: {
  runId: string;
  plan: Plan;
  cluster: ClusterConfig;
  connections: Connections;
  facts: RunFacts;
  log: Logger;
  output: (text: string) => void;
  warn: (text: string) => void;
}): StepContext {
  const { connections, output } = base;
  const commandOn = async (node: RedisNode, command: RedisCommand) => {
    output(showRedis(node.name, command));
    const reply = await node.call(...command);
    output(`  -> ${formatReply(reply)}`);
    return reply;
  };
  return {
    ...base,
    timeouts: base.cluster.timeouts,
    redis: (ref) => connections.redis(ref.name),
    sentinel: (ref) => connections.sentinel(ref),
    remote: (ref) => connections.remote(ref.name),
    command: (ref, command) => commandOn(connections.redis(ref.name), command),
    commandOn,
    async shell(ref, command, options = {}) {
      output(showShell(ref.name, command));
      const { allowFailure, ...execOptions } = options;
      const result = await connections.remote(ref.name).exec(command, {
        timeoutMs: base.cluster.timeouts.remoteCommandMs,
        onOutput: (chunk) => output(chunk.replace(/\n$/, "")),
        ...execOptions,
      });
      if (result.code !== 0 && !allowFailure) {
        const detail = result.stderr.trim() || result.stdout.trim() || "no output";
        throw new FailoverError(
          "REMOTE_COMMAND_FAILED",
          `on ${ref.name}, \`${command}\` exited with ${result.code ?? `signal ${result.signal}`}: ${lastLines(detail, 5)}`,
        );
      }
      return result;
    },
  };
}

function formatReply(reply: unknown): string {
  if (reply === null || reply === undefined) return "(nil)";
  if (Array.isArray(reply)) return `[${reply.map(formatReply).join(", ")}]`;
  const text = String(reply);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function lastLines(text: string, count: number): string {
  return text.split("\n").slice(-count).join(" / ");
}
