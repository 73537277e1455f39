import { setTimeout as delay } from "node:timers/promises";

/** Waits `ms`; resolves early (never rejects) when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  delay(Math.max(0, ms), undefined, { signal }).catch(() => undefined);

/** Per-channel throttle: `burst` calls at once, then `refillPerSecond` calls per second. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number,
    private readonly sleep: Sleep,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token, waiting for it if need be (returns early if `signal` aborts). */
  async take(signal: AbortSignal): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((t - this.last) / 1000) * this.refillPerSecond,
      );
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.refillPerSecond) * 1000), signal);
      if (signal.aborted) return;
    }
  }
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Exponential backoff with "equal jitter": half the step fixed, half random. */
export function backoffDelay(backoff: Backoff, failures: number): number {
  const step = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(step / 2 + Math.random() * (step / 2));
}
