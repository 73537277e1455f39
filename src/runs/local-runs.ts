import type { RunView } from "./types.js";

/** A run executing in this process: the only run state kept in memory, and only while it runs. */
export interface ExecutingRun {
  view: RunView;
  abort: AbortController;
  /** Who pressed Abort (known here before the control plane records it). */
  abortedBy?: string;
}

/**
 * Process-local handles: runs executing here (their Abort), approval expiry timers, and
 * background records still waiting for the control plane. Everything else is in the journal.
 */
export class LocalRuns {
  readonly executing = new Map<string, ExecutingRun>();
  readonly #expiry = new Map<string, NodeJS.Timeout>();
  readonly #work = new Set<Promise<unknown>>();
  /** Aborted at shutdown: stops background retries. */
  readonly stopping = new AbortController();

  scheduleExpiry(runId: string, delayMs: number, expire: () => Promise<void>): void {
    if (this.#expiry.has(runId) || this.stopping.signal.aborted) return;
    const timer = setTimeout(
      () => {
        this.#expiry.delete(runId);
        this.track(expire());
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    this.#expiry.set(runId, timer);
  }

  clearExpiry(runId: string): void {
    clearTimeout(this.#expiry.get(runId));
    this.#expiry.delete(runId);
  }

  constructor(readonly onError: (error: unknown) => void) {}

  /** Keeps `work` until it settles (idle() waits for it); a rejection is logged, never left loose. */
  track(work: Promise<unknown>): void {
    const settled = work.catch(this.onError).finally(() => this.#work.delete(settled));
    this.#work.add(settled);
  }

  async idle(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  stopTimers(): void {
    for (const timer of this.#expiry.values()) clearTimeout(timer);
    this.#expiry.clear();
  }
}
