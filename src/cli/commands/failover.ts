import type { FailoverRequest, Mode } from "../../plan/types.js";
import type { CliSession } from "../session.js";
import { presentAndRun, type RunFlags, requireConfirmation } from "./run-plan.js";

export interface FailoverFlags extends RunFlags {
  mode?: Mode;
  spare?: string;
  replica?: string;
}

/** `failover <cluster>`: preflight and plan, confirmation, then the run with live output. */
export async function failoverCommand(
  session: CliSession,
  cluster: string,
  flags: FailoverFlags & { inventory?: string },
  signal: AbortSignal,
): Promise<number> {
  const { engine } = await session.app(flags.inventory);
  engine.cluster(cluster);
  requireConfirmation(flags, session.io);
  const request: FailoverRequest = { cluster };
  if (flags.mode) request.mode = flags.mode;
  if (flags.spare) request.spare = flags.spare;
  if (flags.replica) request.replica = flags.replica;
  return presentAndRun(session, await engine.plan(request), cluster, flags, signal);
}
