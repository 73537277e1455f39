import type { Logger } from "../log/logger.js";
import type { Secrets } from "../secrets.js";
import { ChannelQueue } from "./outbox/channel-queue.js";
import { cutText, preview, scrubContent, scrubUpload } from "./outbox/content.js";
import { type Job, type JobContext, PostJob, UpdateJob, type WebClient } from "./outbox/jobs.js";
import { PendingMessageRef } from "./outbox/message-ref.js";
import { emptyStats, type OutboxStats, Retrier } from "./outbox/retrier.js";
import { type Backoff, realSleep, type Sleep, TokenBucket } from "./outbox/timing.js";
import { type UploadFile, UploadJob } from "./outbox/upload-job.js";
import type { MessageContent, MessageRef } from "./types.js";

export type { Job } from "./outbox/jobs.js";
export type { OutboxStats } from "./outbox/retrier.js";
export type { UploadFile } from "./outbox/upload-job.js";

export interface SlackOutboxOptions {
  /**
   * Build it with `retryConfig: { retries: 0 }`, `rejectRateLimitedCalls: true` and a `timeout`
   * (say 10 000 ms): the outbox owns retries, and WebClient's own would sleep through 429s
   * (holding up every channel) and hide what happened from the outbox's logs and stats.
   */
  client: WebClient;
  log: Logger;
  secrets: Secrets;
  /** Throttle per channel. Slack allows about one message per second, short bursts ok. */
  perChannel?: { burst: number; refillPerSecond: number };
  /** How long one write is retried, counted from when it was queued. Default 15 minutes. */
  maxWaitMs?: number;
  /** Backoff after 5xx and network errors. Default 0.5 s doubling to 30 s, with jitter. */
  backoff?: Backoff;
  now?: () => number;
  sleep?: Sleep;
}

/**
 * The only way the bot writes to Slack while a failover runs. Every method returns at once
 * (or, for postEphemeral, never rejects): Slack being slow, rate-limited or down must never stop,
 * slow or corrupt a failover. Writes to a channel are sent in order, throttled, retried (429:
 * after Retry-After; 5xx, timeouts, dropped connections: with backoff; refused blocks: once as
 * text only) and given up after `maxWaitMs` with an error log naming the lost message. Every
 * text that leaves goes through `secrets.scrub` first.
 *
 * Slack has no idempotency key for chat.postMessage: when the answer to a post is lost after
 * Slack posted it, the retry posts it again. A duplicate step message is the lesser evil next to a
 * missing one, so posts are retried anyway. Updates and ephemerals are safe to repeat.
 */
export class SlackOutbox {
  private readonly queues = new Map<string, ChannelQueue>();
  private readonly pending = new Set<Promise<void>>();
  private readonly known = new Map<string, PendingMessageRef>();
  private readonly counters = emptyStats();
  private readonly closing = new AbortController();
  /** Aborted when the bot stops: the per-channel throttle no longer waits. */
  private readonly hurry = new AbortController();
  private readonly log: Logger;
  private readonly retrier: Retrier;
  private readonly jobs: JobContext;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly sleep: Sleep;

  constructor(private readonly options: SlackOutboxOptions) {
    this.log = options.log.child({ component: "slack-outbox" });
    this.maxWaitMs = options.maxWaitMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.retrier = new Retrier({
      log: this.log,
      stats: this.counters,
      backoff: options.backoff ?? { initialMs: 500, maxMs: 30_000 },
      now: this.now,
      sleep: this.sleep,
      signal: this.closing.signal,
    });
    this.jobs = { client: options.client, log: this.log, stats: this.counters };
  }

  /** Queues a message; a reply to a MessageRef is sent once that root has been posted. */
  post(
    channel: string,
    content: MessageContent,
    options: {
      threadTs?: string | MessageRef;
      /** The run whose root message this is (a reply belongs to its root's run). */
      run?: { runId: string; cluster: string };
    } = {},
  ): MessageRef {
    const thread = options.threadTs;
    const ref = new PendingMessageRef(
      channel,
      options.run ?? (thread instanceof PendingMessageRef ? thread.run : undefined),
    );
    const c = this.scrub(content);
    this.enqueue(new PostJob(channel, this.deadline(), this.jobs, c, options.threadTs, ref));
    return ref;
  }

  /**
   * A message posted earlier (known by its ts, e.g. from the journal after a restart), as a ref
   * to update or reply to. The same ref is returned for the same message, so updates coalesce.
   */
  existing(channel: string, ts: string): MessageRef {
    const key = `${channel}/${ts}`;
    let ref = this.known.get(key);
    if (!ref) {
      ref = new PendingMessageRef(channel);
      ref.posted(ts);
      this.known.set(key, ref);
    }
    return ref;
  }

  /**
   * Queues an update; one still queued for the same message just gets the newer content.
   * Resolves (never rejects) with whether Slack took it; callers need not wait.
   */
  update(ref: MessageRef, content: MessageContent): Promise<boolean> {
    const c = this.scrub(content);
    if (ref instanceof PendingMessageRef && ref.failed) {
      this.counters.dropped++;
      this.log.warn(
        { method: "chat.update", channel: ref.channel, preview: preview(c.text) },
        "dropping an update of a message that was never posted",
      );
      return Promise.resolve(false);
    }
    const queued = this.queues
      .get(ref.channel)
      ?.findUnsent((job) => job instanceof UpdateJob && job.ref === ref);
    if (queued instanceof UpdateJob && !this.closing.signal.aborted) {
      queued.content = c;
      this.counters.coalesced++;
      return outcome(queued);
    }
    return outcome(this.enqueue(new UpdateJob(this.deadline(), this.jobs, ref, c)));
  }

  /** Queues a file upload into a thread (files.uploadV2 with channel_id and thread_ts). */
  upload(
    channel: string,
    threadTs: string | MessageRef | undefined,
    file: UploadFile,
  ): Promise<boolean> {
    const scrubbed = scrubUpload(file, this.options.secrets);
    return outcome(
      this.enqueue(new UploadJob(channel, this.deadline(), this.jobs, threadTs, scrubbed)),
    );
  }

  /** Sent at once (not behind the channel's queue) with the same retries; never rejects. */
  postEphemeral(channel: string, user: string, content: MessageContent): Promise<void> {
    const c = this.scrub(content);
    const client = this.options.client;
    const sent = this.retrier
      .run({
        method: "chat.postEphemeral",
        channel,
        preview: () => preview(c.text),
        deadline: this.deadline(),
        canFallBack: true,
        send: async (plain) => {
          const m = plain ? { text: cutText(c.text) } : c;
          await client.chat.postEphemeral({
            channel,
            user,
            text: m.text,
            ...(m.blocks !== undefined && { blocks: m.blocks }),
          });
        },
      })
      .then(
        () => undefined,
        (err: unknown) => {
          this.log.error({ channel, err }, "slack outbox ephemeral failed");
        },
      );
    return this.track(sent);
  }

  /** Resolves when everything queued so far has been sent or given up. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Writes queued or under way, not yet sent or given up (the outbox depth metric). */
  depth(): number {
    return this.pending.size;
  }

  stats(): OutboxStats {
    return { ...this.counters };
  }

  /** Whether `close` or `shutdown` has begun: nothing more is sent. */
  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /**
   * Stopping the bot: sends what is queued for up to `flushMs` (the per-channel throttle no
   * longer waits; Slack's 429s still do), then closes, waits up to `settleMs` for calls already
   * under way, and returns every write Slack has not taken, in queue order, for the journal.
   * A call still unanswered then is returned too: it may reach Slack twice (as after any lost
   * answer), never zero times.
   */
  async shutdown(flushMs: number, settleMs = 1_000): Promise<Job[]> {
    this.hurry.abort();
    const timeUp = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
    await (Number.isFinite(flushMs) ? Promise.race([this.flush(), timeUp(flushMs)]) : this.flush());
    const unsent = [...this.queues.values()].flatMap((queue) => queue.unsent());
    this.closing.abort();
    for (const queue of this.queues.values()) queue.dropWaiting();
    await Promise.race([this.flush(), timeUp(settleMs)]);
    return unsent.filter((job) => !job.sent);
  }

  /**
   * Stops: what is still queued is dropped (logged), waits end, and nothing more is sent.
   * Resolves once calls already under way have finished.
   */
  async close(): Promise<void> {
    if (!this.closing.signal.aborted) {
      this.closing.abort();
      let dropped = 0;
      for (const queue of this.queues.values()) dropped += queue.dropWaiting();
      this.counters.dropped += dropped;
      if (dropped > 0) this.log.warn({ dropped }, "slack outbox closed; dropping unsent writes");
    }
    await this.flush();
  }

  private enqueue(job: Job): Job {
    this.track(job.done);
    if (this.closing.signal.aborted) {
      this.counters.dropped++;
      this.log.warn(
        { method: job.method, channel: job.channel, preview: job.preview() },
        "slack outbox is closed; dropping",
      );
      job.finish(false);
      return job;
    }
    let queue = this.queues.get(job.channel);
    if (!queue) {
      const { burst, refillPerSecond } = this.options.perChannel ?? {
        burst: 3,
        refillPerSecond: 1,
      };
      const bucket = new TokenBucket(burst, refillPerSecond, this.now, this.sleep);
      const noWait = AbortSignal.any([this.closing.signal, this.hurry.signal]);
      queue = new ChannelQueue(job.channel, bucket, this.retrier, this.log, noWait);
      this.queues.set(job.channel, queue);
    }
    queue.push(job);
    return job;
  }

  private track(p: Promise<void>): Promise<void> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private deadline(): number {
    return this.now() + this.maxWaitMs;
  }

  private scrub(content: MessageContent): MessageContent {
    return scrubContent(content, this.options.secrets);
  }
}

function outcome(job: Job): Promise<boolean> {
  return job.done.then(() => job.sent);
}
