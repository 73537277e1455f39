/** Slack messages of the failover bot: pure functions from views to Block Kit that fits Slack's limits. */
export { COMMANDS, type CommandHelp, errorMessage, helpMessage } from "./help.js";
export { BLOCK_LIMITS, DEFAULT_FIT, type FitLimits } from "./limits.js";
export { REQUEST_BLOCKS, requestMessage } from "./request-message.js";
export { STATUS_BLOCKS, statusMessage } from "./status-message.js";
export { STEP_BLOCKS, stepMessage, stepText } from "./step-message.js";
export { SUMMARY_BLOCKS, type SummaryInput, summaryMessage } from "./summary-message.js";
export { renderSummaryText } from "./summary-text.js";
