/**
 * Work that follows an acknowledgement (preflight, status, answering a click) waits in a queue
 * and runs a few at a time, each started from a fresh turn of the event loop. A burst of
 * requests is then acknowledged first, within Slack's deadline, instead of every ack
 * competing with the slow work of the requests before it. The app keeps two: clicks never
 * queue behind slow commands. `perKey` caps what one user may have queued or running.
 */
export class FollowUps {
  readonly #queue: Array<() => Promise<void>> = [];
  readonly #concurrency: number;
  readonly #onError: (error: unknown) => void;
  readonly #perKey: number;
  readonly #byKey = new Map<string, number>();
  #running = 0;
  #idle: Array<() => void> = [];

  constructor(options: {
    concurrency: number;
    onError: (error: unknown) => void;
    perKey?: number;
  }) {
    this.#concurrency = options.concurrency;
    this.#onError = options.onError;
    this.#perKey = options.perKey ?? Number.POSITIVE_INFINITY;
  }

  add(work: () => Promise<void>): void {
    this.#queue.push(work);
    setImmediate(() => this.#next());
  }

  /** Queues `work` unless `key` already has `perKey` items queued or running; returns whether it did. */
  addFor(key: string, work: () => Promise<void>): boolean {
    const count = this.#byKey.get(key) ?? 0;
    if (count >= this.#perKey) return false;
    this.#byKey.set(key, count + 1);
    this.add(() =>
      work().finally(() => {
        const left = (this.#byKey.get(key) ?? 1) - 1;
        if (left > 0) this.#byKey.set(key, left);
        else this.#byKey.delete(key);
      }),
    );
    return true;
  }

  /** Resolves when nothing is queued or running. */
  drained(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #next(): void {
    if (this.#running >= this.#concurrency) return;
    const work = this.#queue.shift();
    if (!work) {
      if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    this.#running += 1;
    work()
      .catch(this.#onError)
      .finally(() => {
        this.#running -= 1;
        setImmediate(() => this.#next());
      });
  }
}
