import type { MessageRef } from "../types.js";

/** The MessageRef `SlackOutbox.post` returns: settled by the outbox once the post is done. */
export class PendingMessageRef implements MessageRef {
  /** Known once posted: what a shutdown records as the target of what is still queued. */
  postedTs: string | undefined;
  readonly #ts: Promise<string>;
  #resolve: (ts: string) => void = () => {};
  #reject: (err: Error) => void = () => {};
  #failed = false;

  constructor(
    readonly channel: string,
    /** The run this message belongs to, when the poster said (replies inherit their root's). */
    readonly run?: { runId: string; cluster: string },
  ) {
    this.#ts = new Promise<string>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Nobody has to ask for the ts; an unobserved failure must not crash the process.
    this.#ts.catch(() => {});
  }

  ts(): Promise<string> {
    return this.#ts;
  }

  /** The post was given up: updates of this message are pointless. */
  get failed(): boolean {
    return this.#failed;
  }

  posted(ts: string): void {
    this.postedTs ??= ts;
    this.#resolve(ts);
  }

  /** `gaveUpBecause`: the outbox gave up on the post (Slack's error), rather than keeping it. */
  fail(reason: string, gaveUpBecause?: string): void {
    this.#failed = true;
    this.#reject(new UnpostedError(reason, gaveUpBecause));
  }
}

/** Why a message was never posted: Slack refused it for good, or it was kept for later. */
export class UnpostedError extends Error {
  constructor(
    message: string,
    /** The last error Slack (or the network) gave before the outbox gave up; unset when kept. */
    readonly gaveUpBecause?: string,
  ) {
    super(message);
    this.name = "UnpostedError";
  }
}

/** The error Slack refused a message with, when the outbox gave up on it (not when it kept it). */
export function refusedBecause(error: unknown): string | undefined {
  return error instanceof UnpostedError ? error.gaveUpBecause : undefined;
}
