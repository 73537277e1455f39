import { createHmac } from "node:crypto";

/** Slack's form content type, exactly: Bolt's HTTPReceiver only form-decodes this literal value. */
export const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";

export interface SignedHeaders {
  "X-Slack-Request-Timestamp": string;
  "X-Slack-Signature": string;
}

/** Headers Slack sends: v0=HMAC-SHA256(secret, "v0:<ts>:<body>"), timestamp in Unix seconds. */
export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): SignedHeaders {
  const hmac = createHmac("sha256", signingSecret).update(`v0:${timestamp}:${body}`).digest("hex");
  return { "X-Slack-Request-Timestamp": String(timestamp), "X-Slack-Signature": `v0=${hmac}` };
}

export interface SlashCommandOptions {
  command?: string;
  text: string;
  user_id: string;
  user_name?: string;
  channel_id: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  response_url: string;
  trigger_id?: string;
  api_app_id?: string;
  /** Deprecated verification token; Slack still sends it. */
  token?: string;
  enterprise_id?: string;
  enterprise_name?: string;
  is_enterprise_install?: boolean;
}

/** A slash command body, form-encoded with the fields Slack documents, in Slack's order. */
export function slashCommandBody(o: SlashCommandOptions): string {
  const fields: Array<[string, string | undefined]> = [
    ["token", o.token ?? "verification-token-unused"],
    ["team_id", o.team_id ?? "T0DOUBLE01"],
    ["team_domain", o.team_domain ?? "double-workspace"],
    ["enterprise_id", o.enterprise_id],
    ["enterprise_name", o.enterprise_name],
    ["channel_id", o.channel_id],
    ["channel_name", o.channel_name ?? "ops"],
    ["user_id", o.user_id],
    ["user_name", o.user_name ?? o.user_id.toLowerCase()],
    ["command", o.command ?? "/redis"],
    ["text", o.text],
    ["api_app_id", o.api_app_id ?? "A0DOUBLEAPP"],
    ["is_enterprise_install", String(o.is_enterprise_install ?? false)],
    ["response_url", o.response_url],
    ["trigger_id", o.trigger_id ?? triggerId()],
  ];
  const params = new URLSearchParams();
  for (const [k, v] of fields) if (v !== undefined) params.append(k, v);
  return params.toString();
}

export interface ActionUser {
  id: string;
  username?: string;
  name?: string;
  team_id?: string;
}

export interface ClickedAction {
  action_id: string;
  block_id: string;
  value?: string;
  /** Button label; defaults to the action_id. */
  text?: string;
  style?: "primary" | "danger";
  type?: string;
}

export interface BlockActionsOptions {
  user: ActionUser;
  channel: { id: string; name?: string };
  /** The message holding the clicked element: at least ts; Slack sends the whole message. */
  message: { ts: string; thread_ts?: string; text?: string; blocks?: unknown[] } & Record<
    string,
    unknown
  >;
  action: ClickedAction;
  response_url: string;
  trigger_id?: string;
  team?: { id: string; domain: string };
  api_app_id?: string;
  token?: string;
  is_ephemeral?: boolean;
  /** Time of the click; defaults to now. */
  action_ts?: string;
}

/** The block_actions payload of a button click in a message, shaped like Slack's. */
export function blockActionsPayload(o: BlockActionsOptions): Record<string, unknown> {
  const team = o.team ?? { id: o.user.team_id ?? "T0DOUBLE01", domain: "double-workspace" };
  const username = o.user.username ?? o.user.name ?? o.user.id.toLowerCase();
  return {
    type: "block_actions",
    user: { id: o.user.id, username, name: o.user.name ?? username, team_id: team.id },
    api_app_id: o.api_app_id ?? "A0DOUBLEAPP",
    token: o.token ?? "verification-token-unused",
    container: {
      type: "message",
      message_ts: o.message.ts,
      channel_id: o.channel.id,
      is_ephemeral: o.is_ephemeral ?? false,
      ...(o.message.thread_ts !== undefined && { thread_ts: o.message.thread_ts }),
    },
    trigger_id: o.trigger_id ?? triggerId(),
    team,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: o.channel.id, name: o.channel.name ?? "ops" },
    message: { type: "message", ...o.message },
    state: { values: {} },
    response_url: o.response_url,
    actions: [
      {
        action_id: o.action.action_id,
        block_id: o.action.block_id,
        text: { type: "plain_text", text: o.action.text ?? o.action.action_id, emoji: true },
        ...(o.action.value !== undefined && { value: o.action.value }),
        ...(o.action.style !== undefined && { style: o.action.style }),
        type: o.action.type ?? "button",
        action_ts: o.action_ts ?? nowTs(),
      },
    ],
  };
}

/** `payload=<urlencoded JSON>`, the form body Slack posts for interactions. */
export function blockActionsBody(o: BlockActionsOptions): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(o)) }).toString();
}

export interface ViewSubmissionOptions {
  user: ActionUser;
  /** The view as Slack sends it back: id, callback_id, private_metadata, state.values, … */
  view: Record<string, unknown>;
  trigger_id?: string;
  team?: { id: string; domain: string };
  api_app_id?: string;
  token?: string;
}

/** The view_submission payload of a person pressing a modal's submit button, shaped like Slack's. */
export function viewSubmissionPayload(o: ViewSubmissionOptions): Record<string, unknown> {
  const team = o.team ?? { id: o.user.team_id ?? "T0DOUBLE01", domain: "double-workspace" };
  const username = o.user.username ?? o.user.name ?? o.user.id.toLowerCase();
  return {
    type: "view_submission",
    team,
    user: { id: o.user.id, username, name: o.user.name ?? username, team_id: team.id },
    api_app_id: o.api_app_id ?? "A0DOUBLEAPP",
    token: o.token ?? "verification-token-unused",
    trigger_id: o.trigger_id ?? triggerId(),
    view: o.view,
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** `payload=<urlencoded JSON>` of a view_submission. */
export function viewSubmissionBody(o: ViewSubmissionOptions): string {
  return new URLSearchParams({ payload: JSON.stringify(viewSubmissionPayload(o)) }).toString();
}

export interface ReceiverReply {
  status: number;
  body: string;
  headers: Record<string, string>;
  elapsedMs: number;
}

/** POSTs a body to a Bolt receiver as Slack does (form content type unless overridden). */
export async function postToReceiver(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<ReceiverReply> {
  const started = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": FORM_CONTENT_TYPE, ...headers },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text,
    headers: Object.fromEntries(res.headers),
    elapsedMs: performance.now() - started,
  };
}

/** Signs `body` with `signingSecret` and posts it; `timestamp` lets a test send a stale one. */
export function postSigned(
  url: string,
  signingSecret: string,
  body: string,
  timestamp?: number,
): Promise<ReceiverReply> {
  return postToReceiver(url, body, { ...signSlackRequest(signingSecret, body, timestamp) });
}

let triggerSeq = 0;
function triggerId(): string {
  triggerSeq += 1;
  return `${Date.now()}.${triggerSeq}.double${String(triggerSeq).padStart(24, "0")}`;
}

function nowTs(): string {
  const ms = Date.now();
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, "0")}`;
}
