/**
 * A Slack Web API double on 127.0.0.1 that speaks Slack's wire format, plus helpers that drive a
 * Bolt receiver the way Slack does.
 *
 *   const double = await startSlackDouble({ channels: [{ id: "C0OPS", name: "ops" }] });
 *   const app = new App({ token: double.botToken, signingSecret,
 *     clientOptions: { slackApiUrl: double.apiUrl, retryConfig: { retries: 0 } } });
 *   await postSigned(url, signingSecret, slashCommandBody({ text: "promote cache-1",
 *     user_id: "U0ALICE", channel_id: "C0OPS", response_url: double.responseUrl({ ... }) }));
 *   const [plan] = double.messages("C0OPS"); messageButtons(plan); double.thread("C0OPS", ts);
 *   await postSigned(url, signingSecret, blockActionsBody(clickButton(double, { ... })));
 *   double.failNext("chat.update", { status: 429, retryAfterSec: 3 });
 *   // Modals: a slash command's trigger_id must come from the double to open a view.
 *   slashCommandBody({ ..., trigger_id: double.triggerId() }); const [view] = double.views;
 *   await postSigned(url, signingSecret, viewSubmissionBody(submitView(double, {
 *     viewId: view.id, user, values: { block_id: "option value" } })));
 *   double.updateChannel("C0OPS", { is_member: false }); // chat.postMessage: not_in_channel
 *   await double.close();
 */
export { type BlocksRejection, validateBlocks } from "./blocks.js";
export type { RecordedCall, RecordedResponse } from "./call-log.js";
export {
  type ChannelSpec,
  DEFAULT_BOT_TOKEN,
  DEFAULT_IDENTITY,
  type SlackDoubleOptions,
  type UserSpec,
} from "./config.js";
export { ANY_METHOD, type Fault } from "./faults.js";
export { type ButtonView, messageButtons, messageText } from "./inspect.js";
export {
  type ClickOptions,
  clickButton,
  readViewReply,
  type SubmitOptions,
  submitView,
  type ViewReply,
} from "./interactions.js";
export { blocksCharCount, SLACK_LIMITS, type SlackLimits } from "./limits.js";
export type { ResponseContext, ResponseEffect, ResponseUrlPost } from "./responses.js";
export {
  RESPONSE_URL,
  SlackDouble,
  startSlackDouble,
  UPLOAD,
} from "./server.js";
export * from "./signing.js";
export type {
  BotIdentity,
  EphemeralMessage,
  FileRef,
  MessageContent,
  SlackMessage,
  UploadedFile,
} from "./state.js";
export { type OpenedView, validateView } from "./views.js";
