/** The double's in-memory workspace: messages, ephemerals, files and response_url posts. */

import { Views } from "./views.js";

export interface BotIdentity {
  team_id: string;
  team: string;
  team_domain: string;
  user_id: string;
  user: string;
  bot_id: string;
  app_id: string;
}

export interface FileRef {
  id: string;
  name: string;
  title: string;
}

export interface MessageContent {
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
}

export interface SlackMessage extends MessageContent {
  type: "message";
  channel: string;
  ts: string;
  /** On replies: the root's ts. On a root: its own ts once it has replies (as Slack does). */
  thread_ts?: string;
  reply_count?: number;
  user: string;
  bot_id?: string;
  app_id?: string;
  team: string;
  files?: FileRef[];
  upload?: boolean;
  edited?: { user: string; ts: string };
  /** Earlier versions, oldest first, as chat.update or replace_original overwrote them. */
  history: MessageContent[];
  deleted: boolean;
}

export interface EphemeralMessage extends MessageContent {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  via: "chat.postEphemeral" | "response_url";
}

export interface UploadedFile {
  id: string;
  filename: string;
  title: string;
  /** Length announced to files.getUploadURLExternal. */
  length: number;
  bytes: Buffer | undefined;
  channel?: string;
  thread_ts?: string;
  initial_comment?: string;
  completed: boolean;
}

/** Slack-style ts strings ("1732460000.000100"), unique and strictly increasing. */
export class TsClock {
  private lastMicros = 0;

  next(): string {
    const micros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")}`;
  }
}

export class SlackState {
  readonly clock = new TsClock();
  readonly ephemerals: EphemeralMessage[] = [];
  readonly uploads = new Map<string, UploadedFile>();
  /** trigger_ids and the modals opened with them. */
  readonly views = new Views();
  private readonly channels = new Map<string, SlackMessage[]>();
  private idCounter = 0;

  constructor(readonly identity: BotIdentity) {}

  newId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}0D${String(this.idCounter).padStart(8, "0")}`;
  }

  post(channel: string, content: MessageContent, threadTs?: string): SlackMessage {
    const msg: SlackMessage = {
      type: "message",
      channel,
      ts: this.clock.next(),
      ...copyContent(content),
      user: this.identity.user_id,
      bot_id: this.identity.bot_id,
      app_id: this.identity.app_id,
      team: this.identity.team_id,
      history: [],
      deleted: false,
    };
    if (threadTs !== undefined) {
      const root = this.find(channel, threadTs);
      const rootTs = root?.thread_ts ?? threadTs;
      msg.thread_ts = rootTs;
      const top = this.find(channel, rootTs);
      if (top) {
        top.thread_ts = rootTs;
        top.reply_count = (top.reply_count ?? 0) + 1;
      }
    }
    this.list(channel).push(msg);
    return msg;
  }

  /** Replaces a message's content in place, keeping the old version in `history`. */
  replace(msg: SlackMessage, content: MessageContent): void {
    msg.history.push(copyContent(msg));
    msg.text = content.text;
    if (content.blocks === undefined) delete msg.blocks;
    else msg.blocks = structuredClone(content.blocks);
    if (content.attachments === undefined) delete msg.attachments;
    else msg.attachments = structuredClone(content.attachments);
    msg.edited = { user: this.identity.user_id, ts: this.clock.next() };
  }

  find(channel: string, ts: string): SlackMessage | undefined {
    return this.channels.get(channel)?.find((m) => m.ts === ts && !m.deleted);
  }

  /** Top-level messages of a channel, oldest first. */
  topLevel(channel: string): SlackMessage[] {
    return this.list(channel).filter((m) => !m.deleted && (!m.thread_ts || m.thread_ts === m.ts));
  }

  /** The root message followed by its replies, oldest first; empty if the root is unknown. */
  thread(channel: string, ts: string): SlackMessage[] {
    const root = this.find(channel, ts);
    if (!root) return [];
    const replies = this.list(channel).filter(
      (m) => !m.deleted && m.thread_ts === ts && m.ts !== ts,
    );
    return [root, ...replies];
  }

  private list(channel: string): SlackMessage[] {
    let list = this.channels.get(channel);
    if (!list) {
      list = [];
      this.channels.set(channel, list);
    }
    return list;
  }
}

function copyContent(c: MessageContent): MessageContent {
  return {
    text: c.text,
    ...(c.blocks !== undefined && { blocks: structuredClone(c.blocks) }),
    ...(c.attachments !== undefined && { attachments: structuredClone(c.attachments) }),
  };
}
