import type { webApi } from "@slack/bolt";
import type { Logger } from "../../log/logger.js";
import type { MessageContent, MessageRef } from "../types.js";
import { preview, textOnly } from "./content.js";
import type { PendingMessageRef } from "./message-ref.js";
import type { OutboxStats } from "./retrier.js";

export type WebClient = webApi.WebClient;

export interface JobContext {
  client: WebClient;
  log: Logger;
  stats: OutboxStats;
}

/** One queued write to a channel: a post, an update or an upload. */
export abstract class Job {
  abstract readonly method: string;
  readonly canFallBack: boolean = true;
  /** True while the HTTP call is under way; until then the content may still be replaced. */
  inFlight = false;
  finished = false;
  /** Set by finish: whether Slack took it. */
  sent = false;
  /** Set when the outbox gave up on it: the last error it got. */
  gaveUpBecause: string | undefined;
  readonly done: Promise<void>;
  #settle: () => void = () => {};

  constructor(
    readonly channel: string,
    readonly deadline: number,
    protected readonly ctx: JobContext,
  ) {
    this.done = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  abstract preview(): string;

  /** Learns what must be known before sending; false drops the job (having logged why). */
  async prepare(): Promise<boolean> {
    return true;
  }

  abstract send(textOnly: boolean): Promise<void>;

  /** Called once: the job was sent (true), or given up or dropped (false). */
  finish(sent: boolean): void {
    this.finished = true;
    this.sent = sent;
    this.settled(sent);
    this.#settle();
  }

  protected settled(_sent: boolean): void {}

  /** The ts of a thread root; a root that was never posted leaves the reply in the channel. */
  protected async threadTs(thread: string | MessageRef | undefined): Promise<string | undefined> {
    if (thread === undefined || typeof thread === "string") return thread;
    try {
      return await thread.ts();
    } catch {
      this.ctx.log.warn(
        { method: this.method, channel: this.channel, preview: this.preview() },
        "thread root was never posted; sending the reply to the channel instead",
      );
      return undefined;
    }
  }
}

export class PostJob extends Job {
  readonly method = "chat.postMessage";
  #threadTs: string | undefined;
  #ts: string | undefined;

  constructor(
    channel: string,
    deadline: number,
    ctx: JobContext,
    readonly content: MessageContent,
    readonly thread: string | MessageRef | undefined,
    readonly ref: PendingMessageRef,
  ) {
    super(channel, deadline, ctx);
  }

  preview(): string {
    return preview(this.content.text);
  }

  override async prepare(): Promise<boolean> {
    this.#threadTs = await this.threadTs(this.thread);
    return true;
  }

  async send(plain: boolean): Promise<void> {
    const c = plain ? textOnly(this.content) : this.content;
    const res = await this.ctx.client.chat.postMessage({
      channel: this.channel,
      text: c.text,
      ...(c.blocks !== undefined && { blocks: c.blocks }),
      ...(this.#threadTs !== undefined && { thread_ts: this.#threadTs }),
    });
    if (typeof res.ts !== "string") throw new Error("chat.postMessage answered without a ts");
    this.#ts = res.ts;
  }

  protected override settled(sent: boolean): void {
    if (sent && this.#ts !== undefined) this.ref.posted(this.#ts);
    else
      this.ref.fail(
        `message to ${this.channel} was never posted: ${this.preview()}`,
        this.gaveUpBecause,
      );
  }
}

/**
 * chat.update replaces the whole message with what is sent, so repeating one after a lost
 * response is harmless: retried updates are always safe.
 */
export class UpdateJob extends Job {
  readonly method = "chat.update";
  #ts = "";

  constructor(
    deadline: number,
    ctx: JobContext,
    readonly ref: MessageRef,
    /** Replaced in place by newer updates of the same message while this one is queued. */
    public content: MessageContent,
  ) {
    super(ref.channel, deadline, ctx);
  }

  preview(): string {
    return preview(this.content.text);
  }

  override async prepare(): Promise<boolean> {
    try {
      this.#ts = await this.ref.ts();
      return true;
    } catch {
      this.ctx.stats.dropped++;
      this.ctx.log.warn(
        { method: this.method, channel: this.channel, preview: this.preview() },
        "dropping an update of a message that was never posted",
      );
      return false;
    }
  }

  async send(plain: boolean): Promise<void> {
    const c = plain ? textOnly(this.content) : this.content;
    // Slack keeps the old blocks when an update has none; [] clears them.
    await this.ctx.client.chat.update({
      channel: this.channel,
      ts: this.#ts,
      text: c.text,
      blocks: c.blocks ?? [],
    });
  }
}
