import type { Logger } from "../../log/logger.js";
import type { Job } from "./jobs.js";
import type { Retrier } from "./retrier.js";
import type { TokenBucket } from "./timing.js";

/**
 * One channel's writes, sent one at a time in FIFO order through the channel's throttle. A
 * channel waiting out a 429 holds back only itself: every channel has its own queue.
 */
export class ChannelQueue {
  private readonly waiting: Job[] = [];
  private current: Job | undefined;
  private draining = false;

  constructor(
    private readonly channel: string,
    private readonly bucket: TokenBucket,
    private readonly retrier: Retrier,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  push(job: Job): void {
    this.waiting.push(job);
    if (!this.draining) void this.drain();
  }

  /** The newest job matching `predicate` that has not been sent yet (the current one included). */
  findUnsent(predicate: (job: Job) => boolean): Job | undefined {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const job = this.waiting[i];
      if (job && predicate(job)) return job;
    }
    const c = this.current;
    return c && !c.inFlight && !c.finished && predicate(c) ? c : undefined;
  }

  /** Every job not finished yet, in the order they would be sent (the current one first). */
  unsent(): Job[] {
    const c = this.current;
    return [...(c && !c.finished ? [c] : []), ...this.waiting];
  }

  /** Finishes every job not yet started, unsent; returns how many there were. */
  dropWaiting(): number {
    const dropped = this.waiting.splice(0);
    for (const job of dropped) job.finish(false);
    return dropped.length;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let job = this.waiting.shift(); job; job = this.waiting.shift()) {
        this.current = job;
        await this.process(job);
        this.current = undefined;
      }
    } finally {
      this.draining = false;
    }
  }

  private async process(job: Job): Promise<void> {
    let sent = false;
    try {
      if (!(await job.prepare())) return;
      sent = await this.retrier.run({
        method: job.method,
        channel: this.channel,
        preview: () => job.preview(),
        deadline: job.deadline,
        canFallBack: job.canFallBack,
        beforeAttempt: () => this.bucket.take(this.signal),
        onGiveUp: (reason) => {
          job.gaveUpBecause = reason;
        },
        send: async (textOnly) => {
          job.inFlight = true;
          try {
            await job.send(textOnly);
          } finally {
            job.inFlight = false;
          }
        },
      });
    } catch (err) {
      // Not expected (the retrier does not throw); the queue must keep going regardless.
      this.log.error({ channel: this.channel, method: job.method, err }, "slack outbox job failed");
    } finally {
      job.finish(sent);
    }
  }
}
