import type { FailoverEngine } from "../../engine/engine.js";
import type { FailoverRequest, Mode } from "../../plan/types.js";
import type { CliIo } from "../io.js";
import { presentAndRun, type RunFlags, requireConfirmation } from "./run-plan.js";

export interface FailoverFlags extends RunFlags {
  mode?: Mode;
  spare?: string;
  replica?: string;
}

/** `failover <cluster>`: preflight and plan, confirmation, then the run with live output. */
export async function failoverCommand(
  engine: FailoverEngine,
  cluster: string,
  flags: FailoverFlags,
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  engine.cluster(cluster);
  requireConfirmation(flags, io);
  const request: FailoverRequest = { cluster };
  if (flags.mode) request.mode = flags.mode;
  if (flags.spare) request.spare = flags.spare;
  if (flags.replica) request.replica = flags.replica;
  return presentAndRun(engine, await engine.plan(request), cluster, flags, io, signal);
}
