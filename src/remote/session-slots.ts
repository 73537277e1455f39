/**
 * Counts the channels open on one SSH connection so there are never more than sshd allows
 * (MaxSessions, 10 by default in OpenSSH): a command beyond the limit waits for a slot
 * rather than failing with "open failed". Waiters are served first come, first served.
 */
export class SessionSlots {
  #inUse = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`a session limit must be a positive integer, got ${limit}`);
    }
  }

  get inUse(): number {
    return this.#inUse;
  }

  /**
   * Resolves with a release function once a slot is free; releasing twice is harmless.
   * An urgent request (killing a command) goes to the front of the queue.
   */
  acquire(options: { urgent?: boolean } = {}): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.#inUse++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#inUse--;
          this.#waiting.shift()?.();
        });
      };
      if (this.#inUse < this.limit) grant();
      else if (options.urgent) this.#waiting.unshift(grant);
      else this.#waiting.push(grant);
    });
  }
}
