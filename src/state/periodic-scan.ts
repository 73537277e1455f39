import { errorMessage } from "../errors.js";
import type { Logger } from "../log/logger.js";

/**
 * Runs a pass over the journal now and then every `intervalMs`, one pass at a time: a call
 * while a pass is in progress shares it. A failed pass is logged (`failure` is the message)
 * and the next one runs as usual.
 */
export class PeriodicScan {
  readonly #pass: () => Promise<void>;
  readonly #log: Logger;
  readonly #failure: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: { pass: () => Promise<void>; log: Logger; failure: string }) {
    this.#pass = options.pass;
    this.#log = options.log;
    this.#failure = options.failure;
  }

  /** Starts the timer and the first pass; resolves when that pass is done. */
  start(intervalMs: number): Promise<void> {
    const first = this.run();
    // run() never rejects: every failure inside is caught and logged.
    this.#timer = setInterval(() => void this.run(), intervalMs);
    this.#timer.unref();
    return first;
  }

  /** Stops the timer and waits for the pass in progress, if any. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One pass now; concurrent calls share the pass in progress. */
  run(): Promise<void> {
    this.#running ??= this.#pass()
      .catch((error: unknown) => this.#log.error({ err: errorMessage(error) }, this.#failure))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }
}
