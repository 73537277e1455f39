import type { DoubleConfig } from "./config.js";
import { checkContent } from "./content.js";
import type { SlackState } from "./state.js";

/** What a response_url was issued for: where its replies go and which message is "original". */
export interface ResponseContext {
  channel?: string;
  /** Recipient of ephemeral replies. */
  user?: string;
  /** The message replace_original / delete_original act on (a block_actions source message). */
  messageTs?: string;
  threadTs?: string;
}

export type ResponseEffect = "ephemeral" | "in_channel" | "replaced" | "deleted" | "rejected";

export interface ResponseUrlPost {
  id: string;
  context: ResponseContext;
  receivedAt: number;
  /** The JSON body as posted (text, blocks, response_type, replace_original, ...). */
  payload: Record<string, unknown>;
  status: number;
  effect: ResponseEffect;
  error?: string;
}

interface Issued {
  context: ResponseContext;
  issuedAt: number;
  uses: number;
}

const flag = (v: unknown): boolean => v === true || v === "true";

/**
 * response_url endpoints. A post is applied to the workspace state like Slack would: a new
 * ephemeral (the default), an in_channel message, or a replace/delete of the original message.
 */
export class ResponseUrls {
  readonly posts: ResponseUrlPost[] = [];
  private readonly issued = new Map<string, Issued>();

  constructor(
    private readonly state: SlackState,
    private readonly config: DoubleConfig,
  ) {}

  issue(origin: string, context: ResponseContext): string {
    const id = this.state.newId("R");
    this.issued.set(id, { context: { ...context }, issuedAt: Date.now(), uses: 0 });
    return `${origin}/response/${id}`;
  }

  accept(id: string, payload: Record<string, unknown>): { status: number; body: unknown } {
    const issued = this.issued.get(id);
    const context = issued?.context ?? {};
    const record = (status: number, effect: ResponseEffect, error?: string) => {
      this.posts.push({
        id,
        context,
        receivedAt: Date.now(),
        payload,
        status,
        effect,
        ...(error !== undefined && { error }),
      });
      return { status, body: error === undefined ? { ok: true } : { ok: false, error } };
    };
    if (!issued) return record(404, "rejected", "invalid_url");
    const { limits } = this.config;
    if (Date.now() - issued.issuedAt > limits.responseUrlTtlMs) {
      return record(404, "rejected", "expired_url");
    }
    if (issued.uses >= limits.responseUrlMaxUses) return record(404, "rejected", "used_url");
    issued.uses += 1;

    const { channel, messageTs } = context;
    if (flag(payload.delete_original)) {
      const original = channel && messageTs ? this.state.find(channel, messageTs) : undefined;
      if (!original) return record(404, "rejected", "message_not_found");
      original.deleted = true;
      return record(200, "deleted");
    }
    const checked = checkContent(payload, limits);
    if ("error" in checked) return record(400, "rejected", checked.error.error);
    const { content } = checked;

    if (flag(payload.replace_original)) {
      const original = channel && messageTs ? this.state.find(channel, messageTs) : undefined;
      if (original) {
        this.state.replace(original, content);
        return record(200, "replaced");
      }
      const eph = this.state.ephemerals.find((e) => e.message_ts === messageTs);
      if (!eph) return record(404, "rejected", "message_not_found");
      Object.assign(eph, content);
      return record(200, "replaced");
    }
    if (!channel) return record(404, "rejected", "channel_not_found");
    const threadTs = typeof payload.thread_ts === "string" ? payload.thread_ts : context.threadTs;
    if (payload.response_type === "in_channel") {
      this.state.post(channel, content, threadTs);
      return record(200, "in_channel");
    }
    this.state.ephemerals.push({
      ...content,
      channel,
      user: context.user ?? "",
      message_ts: this.state.clock.next(),
      ...(threadTs !== undefined && { thread_ts: threadTs }),
      via: "response_url",
    });
    return record(200, "ephemeral");
  }
}
