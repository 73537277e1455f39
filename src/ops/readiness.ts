import { TIMED_OUT, withTimeout } from "./metrics.js";

/** One condition of readiness: resolves when it holds, rejects (or times out) with why not. */
export type ReadinessCheck = () => Promise<void> | void;

export interface ReadinessReport {
  ready: boolean;
  /** "ok", or why the check failed, per check name. */
  checks: Record<string, string>;
  draining?: true;
}

/**
 * What /readyz answers. Checks run concurrently, each bounded by `timeoutMs`; a check still
 * running from an earlier probe is joined rather than started again, so a stopped state
 * backend does not collect one stuck command per probe.
 */
export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #timeoutMs: number;
  #draining = false;

  constructor(options: { timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 2_000;
  }

  /** Adds or replaces the check called `name` (slack, state, inventory). */
  set(name: string, check: ReadinessCheck): this {
    this.#checks.set(name, check);
    return this;
  }

  /** Shutting down: report not ready, so a load balancer stops sending work. */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.#checks.keys()].map(async (name) => [name, await this.#run(name)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ready = !this.#draining && entries.every(([, result]) => result === "ok");
    return { ready, checks, ...(this.#draining ? { draining: true as const } : {}) };
  }

  async #run(name: string): Promise<string> {
    let running = this.#inFlight.get(name);
    if (!running) {
      const check = this.#checks.get(name) as ReadinessCheck;
      running = Promise.resolve().then(check);
      this.#inFlight.set(name, running);
      void running.then(
        () => this.#inFlight.delete(name),
        () => this.#inFlight.delete(name),
      );
    }
    try {
      const result = await withTimeout(running, this.#timeoutMs);
      return result === TIMED_OUT ? `no answer within ${this.#timeoutMs} ms` : "ok";
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}
