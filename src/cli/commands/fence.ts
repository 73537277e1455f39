import { planFenceRun } from "../../runs/fence-plan.js";
import type { CliSession } from "../session.js";
import { presentAndRun, type RunFlags, requireConfirmation } from "./run-plan.js";

/** `fence <cluster>`: make an old master that came back a replica of the current master. */
export async function fenceCommand(
  session: CliSession,
  cluster: string,
  flags: RunFlags & { host?: string; inventory?: string },
  signal: AbortSignal,
): Promise<number> {
  const { engine } = await session.app(flags.inventory);
  engine.cluster(cluster);
  requireConfirmation(flags, session.io);
  const { journal } = await session.state(flags.inventory);
  return presentAndRun(
    session,
    await planFenceRun(engine, journal, cluster, flags.host),
    cluster,
    flags,
    signal,
  );
}
