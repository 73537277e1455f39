import { errorMessage, FailoverError } from "../errors.js";

export interface WaitOptions {
  timeoutMs: number;
  /** First poll interval; it doubles up to maxIntervalMs so short waits stay fast and long ones cheap. */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** What is awaited, for the timeout message: "machine-c to finish loading". */
  what: string;
  /** Called with the latest state while waiting (for progress output). */
  onProgress?: (detail: string) => void;
}

export type Check<T> = () => Promise<{ done: true; value: T } | { done: false; detail: string }>;

/** Polls `check` until it reports done; a check that throws counts as "not yet" (the server may be restarting). */
export async function waitUntil<T>(check: Check<T>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 50;
  const maxInterval = options.maxIntervalMs ?? 100;
  let lastDetail = "no answer yet";
  let lastReported = "";
  for (;;) {
    try {
      const result = await check();
      if (result.done) return result.value;
      lastDetail = result.detail;
    } catch (error) {
      lastDetail = errorMessage(error);
    }
    if (options.onProgress && lastDetail !== lastReported) {
      options.onProgress(lastDetail);
      lastReported = lastDetail;
    }
    if (Date.now() >= deadline) {
      throw new FailoverError(
        "TIMEOUT",
        `timed out after ${options.timeoutMs} ms waiting for ${options.what} (last seen: ${lastDetail})`,
      );
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
    interval = Math.min(interval * 2, maxInterval);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
