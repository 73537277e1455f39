import { type DoubleConfig, postingRefusal, resolveChannel } from "./config.js";
import { type ApiError, checkContent } from "./content.js";
import type { SlackMessage, SlackState } from "./state.js";

export type ApiResult = ({ ok: true } & Record<string, unknown>) | ApiError;

export interface MethodContext {
  args: Record<string, unknown>;
  state: SlackState;
  config: DoubleConfig;
  /** "http://127.0.0.1:PORT", for URLs that point back at the double. */
  origin: string;
}

type Handler = (ctx: MethodContext) => ApiResult;

const fail = (error: string): ApiError => ({ ok: false, error });
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Slack's wire view of a stored message (without the double's bookkeeping). */
export function wireMessage(m: SlackMessage): Record<string, unknown> {
  const { history: _history, deleted: _deleted, channel: _channel, ...wire } = m;
  return structuredClone(wire);
}

/** thread_ts checked against the channel when `strictThreads` is on. */
function threadOf(ctx: MethodContext, channel: string): { ts?: string } | ApiError {
  const ts = str(ctx.args.thread_ts);
  if (ts === undefined) return {};
  if (ctx.config.strictThreads && !ctx.state.find(channel, ts)) return fail("thread_not_found");
  return { ts };
}

const postMessage: Handler = (ctx) => {
  const channel = resolveChannel(ctx.config, ctx.args.channel);
  if (!channel) return fail("channel_not_found");
  const refused = postingRefusal(ctx.config, channel);
  if (refused) return fail(refused);
  const thread = threadOf(ctx, channel);
  if ("error" in thread) return thread;
  const checked = checkContent(ctx.args, ctx.config.limits);
  if ("error" in checked) return checked.error;
  const msg = ctx.state.post(channel, checked.content, thread.ts);
  return { ok: true, channel, ts: msg.ts, message: wireMessage(msg) };
};

const update: Handler = (ctx) => {
  const channel = resolveChannel(ctx.config, ctx.args.channel);
  if (!channel) return fail("channel_not_found");
  const msg = ctx.state.find(channel, String(ctx.args.ts ?? ""));
  if (!msg) return fail("message_not_found");
  if (msg.user !== ctx.config.identity.user_id) return fail("cant_update_message");
  const checked = checkContent(ctx.args, ctx.config.limits);
  if ("error" in checked) return checked.error;
  // Slack keeps the previous blocks/attachments when the update omits them.
  const next = { ...checked.content };
  if (ctx.args.blocks === undefined && msg.blocks) next.blocks = msg.blocks;
  if (ctx.args.attachments === undefined && msg.attachments) next.attachments = msg.attachments;
  ctx.state.replace(msg, next);
  return { ok: true, channel, ts: msg.ts, text: msg.text, message: wireMessage(msg) };
};

const deleteMessage: Handler = (ctx) => {
  const channel = resolveChannel(ctx.config, ctx.args.channel);
  if (!channel) return fail("channel_not_found");
  const msg = ctx.state.find(channel, String(ctx.args.ts ?? ""));
  if (!msg) return fail("message_not_found");
  msg.deleted = true;
  return { ok: true, channel, ts: msg.ts };
};

const postEphemeral: Handler = (ctx) => {
  const channel = resolveChannel(ctx.config, ctx.args.channel);
  if (!channel) return fail("channel_not_found");
  const refused = postingRefusal(ctx.config, channel);
  if (refused) return fail(refused);
  const user = str(ctx.args.user);
  if (!user) return fail("user_not_found");
  const members = ctx.config.channels?.get(channel)?.members;
  if (members && !members.includes(user)) return fail("user_not_in_channel");
  const checked = checkContent(ctx.args, ctx.config.limits);
  if ("error" in checked) return checked.error;
  const message_ts = ctx.state.clock.next();
  const threadTs = str(ctx.args.thread_ts);
  ctx.state.ephemerals.push({
    ...checked.content,
    channel,
    user,
    message_ts,
    ...(threadTs !== undefined && { thread_ts: threadTs }),
    via: "chat.postEphemeral",
  });
  return { ok: true, message_ts };
};

const getPermalink: Handler = (ctx) => {
  const channel = resolveChannel(ctx.config, ctx.args.channel);
  if (!channel) return fail("channel_not_found");
  const msg = ctx.state.find(channel, String(ctx.args.message_ts ?? ""));
  if (!msg) return fail("message_not_found");
  const base = `https://${ctx.config.identity.team_domain}.slack.com/archives/${channel}/p${msg.ts.replace(".", "")}`;
  const inThread = msg.thread_ts !== undefined && msg.thread_ts !== msg.ts;
  const permalink = inThread ? `${base}?thread_ts=${msg.thread_ts}&cid=${channel}` : base;
  return { ok: true, channel, permalink };
};

const authTest: Handler = (ctx) => {
  const id = ctx.config.identity;
  return {
    ok: true,
    url: `https://${id.team_domain}.slack.com/`,
    team: id.team,
    user: id.user,
    team_id: id.team_id,
    user_id: id.user_id,
    bot_id: id.bot_id,
    is_enterprise_install: false,
  };
};

const getUploadUrl: Handler = (ctx) => {
  const filename = str(ctx.args.filename);
  const length = Number(ctx.args.length);
  if (!filename || !Number.isInteger(length) || length <= 0) return fail("missing_argument");
  const id = ctx.state.newId("F");
  ctx.state.uploads.set(id, {
    id,
    filename,
    title: filename,
    length,
    bytes: undefined,
    completed: false,
  });
  return { ok: true, upload_url: `${ctx.origin}/upload/${id}`, file_id: id };
};

const completeUpload: Handler = (ctx) => {
  const files = ctx.args.files;
  if (!Array.isArray(files) || files.length === 0) return fail("invalid_arguments");
  const rawChannel = ctx.args.channel_id ?? ctx.args.channels;
  const channel = rawChannel === undefined ? undefined : resolveChannel(ctx.config, rawChannel);
  if (rawChannel !== undefined && !channel) return fail("invalid_channel");
  let threadTs: string | undefined;
  if (channel) {
    const thread = threadOf(ctx, channel);
    if ("error" in thread) return thread;
    threadTs = thread.ts;
  }
  const done = [];
  for (const f of files as Array<{ id?: unknown; title?: unknown }>) {
    const upload = typeof f.id === "string" ? ctx.state.uploads.get(f.id) : undefined;
    if (!upload?.bytes) return fail("file_not_found");
    done.push({ upload, title: str(f.title) ?? upload.filename });
  }
  const comment = str(ctx.args.initial_comment);
  for (const { upload, title } of done) {
    Object.assign(upload, {
      title,
      completed: true,
      ...(channel !== undefined && { channel }),
      ...(threadTs !== undefined && { thread_ts: threadTs }),
      ...(comment !== undefined && { initial_comment: comment }),
    });
  }
  if (channel) {
    // Sharing into a channel posts a message carrying the files, as Slack does.
    const msg = ctx.state.post(channel, { text: comment ?? "" }, threadTs);
    msg.files = done.map(({ upload }) => ({
      id: upload.id,
      name: upload.filename,
      title: upload.title,
    }));
    msg.upload = true;
  }
  return {
    ok: true,
    files: done.map(({ upload }) => ({
      id: upload.id,
      name: upload.filename,
      title: upload.title,
      size: upload.bytes?.length ?? 0,
    })),
  };
};

const usergroupUsers: Handler = (ctx) => {
  const users = ctx.config.usergroups.get(String(ctx.args.usergroup ?? ""));
  return users ? { ok: true, users: [...users] } : fail("no_such_subteam");
};

const usersInfo: Handler = (ctx) => {
  const u = ctx.config.users.get(String(ctx.args.user ?? ""));
  if (!u) return fail("user_not_found");
  const real = u.real_name ?? u.name;
  return {
    ok: true,
    user: {
      id: u.id,
      team_id: ctx.config.identity.team_id,
      name: u.name,
      real_name: real,
      deleted: u.deleted ?? false,
      is_bot: u.is_bot ?? false,
      tz: u.tz ?? "UTC",
      profile: { real_name: real, display_name: u.name },
    },
  };
};

const conversationsInfo: Handler = (ctx) => {
  const channel = resolveChannel(ctx.config, ctx.args.channel);
  if (!channel) return fail("channel_not_found");
  const spec = ctx.config.channels?.get(channel);
  return {
    ok: true,
    channel: {
      id: channel,
      name: spec?.name ?? channel.toLowerCase(),
      is_channel: true,
      is_private: spec?.is_private ?? false,
      is_member: spec?.is_member ?? true,
      is_archived: spec?.is_archived ?? false,
    },
  };
};

const viewsOpen: Handler = (ctx) =>
  ctx.state.views.open(ctx.args, ctx.config.limits, ctx.config.identity);

export const METHODS: Record<string, Handler> = {
  "views.open": viewsOpen,
  "auth.test": authTest,
  "chat.postMessage": postMessage,
  "chat.update": update,
  "chat.delete": deleteMessage,
  "chat.postEphemeral": postEphemeral,
  "chat.getPermalink": getPermalink,
  "files.getUploadURLExternal": getUploadUrl,
  "files.completeUploadExternal": completeUpload,
  "usergroups.users.list": usergroupUsers,
  "users.info": usersInfo,
  "conversations.info": conversationsInfo,
};
