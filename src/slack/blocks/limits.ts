/**
 * Slack's Block Kit limits the message builders respect, plus the bot's own budget for the whole
 * `blocks` payload. Slack refuses large payloads (`msg_blocks_too_long`) somewhere around 13,000
 * characters of JSON without documenting the rule, so the builders stay well under that.
 */
export const BLOCK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fieldText: 2000,
  contextElements: 10,
  buttonText: 75,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** Budget for `JSON.stringify(blocks).length` (the measure Slack and the test double apply). */
  blockChars: 12_000,
  /** Top-level `text` of chat.postMessage / chat.update. */
  messageText: 40_000,
  /** The fallback `text` the builders produce (notifications): short on purpose. */
  fallbackText: 1_000,
} as const;

export interface FitLimits {
  /** Most characters `JSON.stringify(blocks)` may have. */
  chars: number;
  /** Most blocks. */
  blocks: number;
}

export const DEFAULT_FIT: FitLimits = {
  chars: BLOCK_LIMITS.blockChars,
  blocks: BLOCK_LIMITS.blocks,
};
