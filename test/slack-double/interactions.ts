import { messageButtons } from "./inspect.js";
import type { SlackDouble } from "./server.js";
import type { ActionUser, BlockActionsOptions, ViewSubmissionOptions } from "./signing.js";

export interface ClickOptions {
  channel: string;
  /** ts of the message holding the button. */
  ts: string;
  actionId: string;
  user: ActionUser;
}

/**
 * block_actions options for a person clicking a button of a message as it is now in the double.
 * Throws if the message or the button is gone (e.g. the bot already replaced the buttons), since
 * nobody could click it. The response_url is bound to that message, so replace_original and
 * delete_original act on it.
 */
export function clickButton(double: SlackDouble, o: ClickOptions): BlockActionsOptions {
  const msg = double.message(o.channel, o.ts);
  if (!msg) throw new Error(`no message ${o.ts} in ${o.channel}`);
  const button = messageButtons(msg).find((b) => b.action_id === o.actionId);
  if (!button) {
    const ids = messageButtons(msg).map((b) => b.action_id);
    throw new Error(`message ${o.ts} has no button ${o.actionId} (has: ${ids.join(", ")})`);
  }
  const { history: _h, deleted: _d, channel: _c, ...message } = msg;
  return {
    user: o.user,
    channel: { id: o.channel },
    message,
    action: {
      action_id: o.actionId,
      // Slack generates a block_id when the bot gave none; any stable string will do here.
      block_id: button.block_id ?? "double-generated-block",
      text: button.text,
      ...(button.value !== undefined && { value: button.value }),
      ...((button.style === "primary" || button.style === "danger") && { style: button.style }),
    },
    response_url: double.responseUrl({
      channel: o.channel,
      user: o.user.id,
      messageTs: o.ts,
      ...(msg.thread_ts !== undefined && { threadTs: msg.thread_ts }),
    }),
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export interface SubmitOptions {
  /** The id of a view the bot opened (SlackDouble.views). */
  viewId: string;
  user: ActionUser;
  /**
   * What the person picked, by input block_id: an option's value for a select, the values of
   * the ticked boxes for checkboxes. Blocks left out keep their initial option, if any.
   */
  values: Record<string, string | string[] | undefined>;
}

/**
 * view_submission options for a person submitting a modal the bot opened. Like Slack's client,
 * it refuses what a person could not submit: a value that is not one of the options, an
 * empty required field, a block the view does not have.
 */
export function submitView(double: SlackDouble, o: SubmitOptions): ViewSubmissionOptions {
  const opened = double.views.find((view) => view.id === o.viewId);
  if (!opened) throw new Error(`no view ${o.viewId} was opened`);
  const blocks = (opened.view.blocks as Json[]).filter((block) => block.type === "input");
  const known = new Set(blocks.map((block) => String(block.block_id)));
  for (const id of Object.keys(o.values)) {
    if (!known.has(id)) throw new Error(`the view has no input block ${id}`);
  }
  const values: Json = {};
  for (const block of blocks) {
    const blockId = String(block.block_id);
    const element = block.element as Json;
    const actionId = String(element.action_id);
    // A field the person left alone submits what it showed: its initial option(s).
    const initial = Array.isArray(element.initial_options)
      ? (element.initial_options as Json[]).map((option) => String(option.value))
      : isObject(element.initial_option)
        ? String(element.initial_option.value)
        : undefined;
    const picked = blockId in o.values ? o.values[blockId] : initial;
    const empty = picked === undefined || (Array.isArray(picked) && picked.length === 0);
    if (empty && block.optional !== true) {
      throw new Error(`${blockId} is required: Slack would not submit the form without it`);
    }
    const options = optionsOf(element);
    const find = (value: string) => {
      const option = options.find((candidate) => candidate.value === value);
      if (!option) throw new Error(`${value} is not an option of ${blockId}`);
      return option;
    };
    if (element.type === "checkboxes") {
      const ticked = picked === undefined ? [] : Array.isArray(picked) ? picked : [picked];
      values[blockId] = {
        [actionId]: { type: "checkboxes", selected_options: ticked.map(find) },
      };
    } else {
      if (Array.isArray(picked)) throw new Error(`${blockId} takes one value`);
      values[blockId] = {
        [actionId]: {
          type: element.type,
          selected_option: picked === undefined ? null : find(picked),
        },
      };
    }
  }
  return { user: o.user, view: double.submittedView(o.viewId, values) };
}

function optionsOf(element: Json): Json[] {
  const direct = Array.isArray(element.options) ? element.options.filter(isObject) : [];
  const grouped = Array.isArray(element.option_groups)
    ? element.option_groups
        .filter(isObject)
        .flatMap((group) => (Array.isArray(group.options) ? group.options.filter(isObject) : []))
    : [];
  return [...direct, ...grouped];
}

export type ViewReply =
  | { action: "clear" }
  | { action: "errors"; errors: Record<string, string> }
  | { action: "other"; body: Json };

/**
 * What Slack makes of the HTTP answer to a view_submission: an empty 200 closes the modal;
 * `response_action: "errors"` shows each message under its input block, and must name only
 * input blocks of the view (Slack shows nothing useful otherwise, so this throws).
 */
export function readViewReply(
  double: SlackDouble,
  viewId: string,
  reply: { status: number; body: string },
): ViewReply {
  if (reply.status !== 200) throw new Error(`view_submission answered HTTP ${reply.status}`);
  if (reply.body.trim() === "") return { action: "clear" };
  const body = JSON.parse(reply.body) as Json;
  if (body.response_action !== "errors") return { action: "other", body };
  const opened = double.views.find((view) => view.id === viewId);
  const inputs = new Set(
    ((opened?.view.blocks as Json[] | undefined) ?? [])
      .filter((block) => block.type === "input")
      .map((block) => String(block.block_id)),
  );
  const errors = (isObject(body.errors) ? body.errors : {}) as Record<string, string>;
  for (const [blockId, message] of Object.entries(errors)) {
    if (!inputs.has(blockId)) throw new Error(`errors name ${blockId}, not an input block`);
    if (typeof message !== "string" || message.length === 0) {
      throw new Error(`the error for ${blockId} is empty`);
    }
  }
  if (Object.keys(errors).length === 0) throw new Error("response_action errors with no error");
  return { action: "errors", errors };
}
