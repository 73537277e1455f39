import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage } from "../errors.js";
import type { AnsweringProbe, WatchObserver } from "../runs/watch.js";
import type { FenceThread } from "../runs/watch-fence.js";
import type { RunHistory } from "../state/replay.js";
import type { RunJournal } from "../state/run-journal.js";
import type { WatchHistory } from "../state/watches.js";
import {
  watchEndedMessage,
  watchReturnedMessage,
  watchSilentMessage,
  withoutFence,
} from "./blocks/watch-message.js";
import type { SlackOutbox } from "./outbox.js";
import type { MessageContent, MessageRef } from "./types.js";

/**
 * Shows watches in Slack: in the thread of the run that left its old master unfenced (a CLI
 * run has none: then in the cluster's first channel). It also names the thread a Fence run
 * reports in (`fenceThread`); RunMessages shows that run there, step by step.
 */
export class WatchMessages implements WatchObserver {
  readonly #outbox: SlackOutbox;
  readonly #journal: RunJournal;
  readonly #engine: FailoverEngine;
  readonly #log: Logger;
  /** The last return message of each watch posted by this process, to close when it ends. */
  readonly #returns = new Map<string, { ref: MessageRef; content: MessageContent }>();

  constructor(options: {
    outbox: SlackOutbox;
    journal: RunJournal;
    engine: FailoverEngine;
    log: Logger;
  }) {
    this.#outbox = options.outbox;
    this.#journal = options.journal;
    this.#engine = options.engine;
    this.#log = options.log.child({ component: "watch-messages" });
  }

  returned(watch: WatchHistory, probe: AnsweringProbe, n: number): void {
    const content = watchReturnedMessage(watch, probe, n);
    void this.#post(watch, content).then((ref) => {
      if (ref) this.#returns.set(watch.runId, { ref, content });
    });
  }

  silent(watch: WatchHistory): void {
    void this.#post(watch, watchSilentMessage(watch));
  }

  ended(watch: WatchHistory & { ended: NonNullable<WatchHistory["ended"]> }): void {
    void this.#post(watch, watchEndedMessage(watch));
    // The last return message posted here loses its Fence button: there is nothing left to fence.
    const last = this.#returns.get(watch.runId);
    this.#returns.delete(watch.runId);
    if (last) this.#outbox.update(last.ref, withoutFence(last.content, watch.ended.detail));
  }

  /**
   * Where a fence run started by the Fence button reports: its steps, summary and any Resume
   * offer in the watched run's thread (or under the pressed message), never touching the
   * watched run's root message.
   */
  fenceThread(
    watched: RunHistory | undefined,
    pressed: { channel: string; ts?: string },
  ): FenceThread {
    if (watched?.channel && watched.rootTs)
      return { channel: watched.channel, threadTs: watched.rootTs };
    return pressed.ts
      ? { channel: pressed.channel, threadTs: pressed.ts }
      : { channel: pressed.channel };
  }

  /** Never rejects. */
  #post(watch: WatchHistory, content: MessageContent): Promise<MessageRef | undefined> {
    return this.#where(watch)
      .then((where) => {
        if (!where) {
          this.#log.warn(
            { runId: watch.runId, cluster: watch.cluster },
            "watch: no thread and no channel to report in",
          );
          return undefined;
        }
        return this.#outbox.post(where.channel, content, {
          ...(where.rootTs ? { threadTs: this.#outbox.existing(where.channel, where.rootTs) } : {}),
        });
      })
      .catch((error: unknown) => {
        this.#log.error({ runId: watch.runId, err: errorMessage(error) }, "watch message not sent");
        return undefined;
      });
  }

  async #where(watch: WatchHistory): Promise<{ channel: string; rootTs?: string } | undefined> {
    const run = await this.#journal.run(watch.runId);
    if (run?.channel && run.rootTs) return { channel: run.channel, rootTs: run.rootTs };
    const channel = this.#engine.cluster(watch.cluster).channels[0];
    return channel ? { channel } : undefined;
  }
}
