import { messageButtons } from "./inspect.js";
import type { SlackDouble } from "./server.js";
import type { ActionUser, BlockActionsOptions } from "./signing.js";

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
