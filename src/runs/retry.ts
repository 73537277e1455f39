import { errorMessage } from "../errors.js";
import type { Logger } from "../log/logger.js";

/**
 * Runs `work` until it succeeds: a record the control plane could not take now (frozen,
 * restarting) is written once it answers again. Never rejects; stops early on `signal`.
 */
export async function retryUntilDone(
  what: string,
  work: () => Promise<void>,
  options: { log: Logger; intervalMs: number; signal: AbortSignal },
): Promise<boolean> {
  for (let attempt = 1; !options.signal.aborted; attempt++) {
    try {
      await work();
      if (attempt > 1) options.log.info({ attempt }, `${what}: recorded after retrying`);
      return true;
    } catch (error) {
      options.log.warn({ err: errorMessage(error), attempt }, `${what}: failed; retrying`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs);
        options.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  return false;
}
