import type { Logger } from "../../log/logger.js";
import { classify } from "./classify.js";
import { preview } from "./content.js";
import { type Backoff, backoffDelay, type Sleep } from "./timing.js";

export interface OutboxStats {
  /** Web API calls made (every attempt counts). */
  calls: number;
  retries: number;
  /** Answers that were 429 (or `ratelimited`). */
  rateLimited: number;
  /** HTTP 5xx answers and Slack's transient platform errors. */
  serverErrors: number;
  /** Timeouts and dropped connections. */
  networkErrors: number;
  /** Messages re-sent as text only after Slack refused their blocks. */
  fallbacks: number;
  /** Updates folded into an update of the same message that was still queued. */
  coalesced: number;
  /** Calls given up on: the message, update or file never reached Slack. */
  gaveUp: number;
  /** Updates and replies dropped without a call (their message was never posted; closed). */
  dropped: number;
}

export function emptyStats(): OutboxStats {
  return {
    calls: 0,
    retries: 0,
    rateLimited: 0,
    serverErrors: 0,
    networkErrors: 0,
    fallbacks: 0,
    coalesced: 0,
    gaveUp: 0,
    dropped: 0,
  };
}

/** One logical call to retry until it succeeds, fails for good or runs out of time. */
export interface Call {
  method: string;
  channel: string;
  /** What logs say about the message (already scrubbed and cut to 100 characters). */
  preview: () => string;
  /** Unix ms after which no retry is started. The first attempt is always made. */
  deadline: number;
  /** Whether a refused-blocks answer may be retried once as text only. */
  canFallBack: boolean;
  /** Waits for permission to make the next attempt (the channel's throttle). */
  beforeAttempt?: () => Promise<void>;
  send: (textOnly: boolean) => Promise<void>;
  /** Told why, when the call is given up on (not when the outbox closes). */
  onGiveUp?: (reason: string) => void;
}

export interface RetrierDeps {
  log: Logger;
  stats: OutboxStats;
  backoff: Backoff;
  now: () => number;
  sleep: Sleep;
  /** Aborted on close: waits end and nothing more is attempted. */
  signal: AbortSignal;
}

/** The outbox's retry policy; `run` never throws and tells whether the call got through. */
export class Retrier {
  constructor(private readonly deps: RetrierDeps) {}

  async run(call: Call): Promise<boolean> {
    const { log, stats, now, signal } = this.deps;
    const started = now();
    let textOnly = false;
    let failures = 0;
    for (let attempt = 1; ; attempt++) {
      if (call.beforeAttempt) await call.beforeAttempt();
      if (signal.aborted) {
        // Closed: whoever closed the outbox keeps what was not sent (see SlackOutbox.shutdown).
        log.debug(
          { method: call.method, channel: call.channel, attempt },
          "outbox closed; not sent",
        );
        return false;
      }
      stats.calls++;
      let error: unknown;
      try {
        await call.send(textOnly);
        return true;
      } catch (err) {
        error = err;
      }
      const verdict = classify(error);
      const where = { method: call.method, channel: call.channel, attempt };
      if (verdict.kind === "content") {
        if (!call.canFallBack || textOnly)
          return this.giveUp(call, attempt, started, verdict.detail);
        stats.fallbacks++;
        stats.retries++;
        textOnly = true;
        log.warn(
          { ...where, error: verdict.detail, preview: call.preview() },
          "slack refused the message; retrying as text only",
        );
        continue;
      }
      if (verdict.kind === "fatal") return this.giveUp(call, attempt, started, verdict.detail);

      failures++;
      let waitMs: number;
      if (verdict.kind === "rate-limited") {
        stats.rateLimited++;
        waitMs = verdict.retryAfterMs ?? backoffDelay(this.deps.backoff, failures);
        log.warn(
          { ...where, retryAfterSec: waitMs / 1000, error: verdict.detail },
          "slack rate-limited the call; waiting Retry-After",
        );
      } else {
        if (verdict.kind === "server") stats.serverErrors++;
        else stats.networkErrors++;
        waitMs = backoffDelay(this.deps.backoff, failures);
      }
      const left = call.deadline - now();
      if (left <= 0 || (verdict.kind === "rate-limited" && waitMs > left)) {
        return this.giveUp(call, attempt, started, verdict.detail);
      }
      // Other waits are cut to the deadline so that one last attempt is made there.
      waitMs = Math.min(waitMs, left);
      stats.retries++;
      log.warn({ ...where, delayMs: waitMs, error: verdict.detail }, "slack call failed; retrying");
      await this.deps.sleep(waitMs, signal);
    }
  }

  private giveUp(call: Call, attempt: number, started: number, reason: string): false {
    this.deps.stats.gaveUp++;
    call.onGiveUp?.(reason);
    this.deps.log.error(
      {
        method: call.method,
        channel: call.channel,
        attempt,
        waitedMs: this.deps.now() - started,
        error: preview(reason),
        preview: call.preview(),
      },
      "gave up on a slack call; this message never reached Slack",
    );
    return false;
  }
}
