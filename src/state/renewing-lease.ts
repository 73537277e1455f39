import { errorMessage, FailoverError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { LockLease } from "./types.js";

export interface RenewingLeaseOptions {
  cluster: string;
  fencingToken: number;
  leaseMs: number;
  /** When the acquire request was sent: the lease is valid until this + leaseMs at least. */
  acquiredAt: number;
  /** Extends the lease if still ours; false when someone else holds it now. */
  renew(): Promise<boolean>;
  /** Frees the lock if still ours. */
  release(): Promise<void>;
  log: Logger;
}

/**
 * A held lock renewed every leaseMs/3 until released or lost. A renewal that fails with an
 * error is retried at the next tick as long as the lease is still valid then, so a short blip
 * of the state backend does not abort a failover; `lost` fires before the lease can run out.
 */
export class RenewingLease implements LockLease {
  readonly cluster: string;
  readonly fencingToken: number;
  readonly #controller = new AbortController();
  readonly #options: RenewingLeaseOptions;
  readonly #intervalMs: number;
  #validUntil: number;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #released = false;

  constructor(options: RenewingLeaseOptions) {
    this.cluster = options.cluster;
    this.fencingToken = options.fencingToken;
    this.#options = options;
    this.#intervalMs = Math.max(1, Math.floor(options.leaseMs / 3));
    this.#validUntil = options.acquiredAt + options.leaseMs;
    this.#schedule();
  }

  get lost(): AbortSignal {
    return this.#controller.signal;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#timer);
    await this.#renewing;
    await this.#options.release();
  }

  #schedule(): void {
    if (this.#released || this.lost.aborted) return;
    this.#timer = setTimeout(() => {
      this.#renewing = this.#renew().finally(() => {
        this.#renewing = undefined;
        this.#schedule();
      });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    const started = Date.now();
    // Renewing a lease that already ran out could overwrite whoever took it over meanwhile.
    if (started >= this.#validUntil) {
      this.#lose("the lease ran out before it could be renewed (was the process stalled?)");
      return;
    }
    try {
      if (await this.#attempt()) {
        this.#validUntil = started + this.#options.leaseMs;
      } else {
        this.#lose("someone else holds the lock now");
      }
    } catch (error) {
      if (this.#released) return;
      if (Date.now() + this.#intervalMs >= this.#validUntil) {
        this.#lose(`renewing the lease failed: ${errorMessage(error)}`);
      } else {
        this.#options.log.warn(
          { cluster: this.cluster, err: errorMessage(error) },
          "renewing the cluster lock failed; retrying while the lease is still valid",
        );
      }
    }
  }

  /** One renewal, given up after an interval (a reply lost with a dropped connection). */
  async #attempt(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#intervalMs} ms`)),
        this.#intervalMs,
      );
    });
    try {
      return await Promise.race([this.#options.renew(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #lose(reason: string): void {
    if (this.#released || this.lost.aborted) return;
    clearTimeout(this.#timer);
    const message = `lost the lock on cluster ${this.cluster} (fencing token ${this.fencingToken}): ${reason}`;
    this.#options.log.error({ cluster: this.cluster, fencingToken: this.fencingToken }, message);
    this.#controller.abort(new FailoverError("ABORTED", message));
  }
}
