import type { FailoverEngine } from "../../engine/engine.js";
import type { CliIo } from "../io.js";
import { presentAndRun, type RunFlags, requireConfirmation } from "./run-plan.js";

/** `fence <cluster>`: make an old master that came back a replica of the current master. */
export async function fenceCommand(
  engine: FailoverEngine,
  cluster: string,
  flags: RunFlags & { host?: string },
  io: CliIo,
  signal: AbortSignal,
): Promise<number> {
  engine.cluster(cluster);
  requireConfirmation(flags, io);
  return presentAndRun(
    engine,
    await engine.planFence(cluster, flags.host),
    cluster,
    flags,
    io,
    signal,
  );
}
