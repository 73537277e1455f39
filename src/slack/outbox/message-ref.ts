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

  fail(reason: string): void {
    this.#failed = true;
    this.#reject(new Error(reason));
  }
}
