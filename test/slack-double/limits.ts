/**
 * Limits the double enforces. Product tests may import these to build payloads right at a limit.
 *
 * Per-field limits are Slack's documented Block Kit / chat.* limits. `maxTotalBlockChars` is the
 * double's own documented cap: Slack rejects large block payloads with `msg_blocks_too_long` at
 * roughly 13,200 characters of content (slackapi/bolt-js#2509) without documenting the rule, so
 * the double is deliberately a little stricter and measures `blocksCharCount` (the JSON length).
 */
export const SLACK_LIMITS = {
  maxBlocksPerMessage: 50,
  maxSectionTextChars: 3000,
  maxSectionFields: 10,
  maxSectionFieldChars: 2000,
  maxHeaderTextChars: 150,
  maxContextElements: 10,
  maxActionsElements: 25,
  maxButtonTextChars: 75,
  maxButtonValueChars: 2000,
  maxButtonUrlChars: 3000,
  maxActionIdChars: 255,
  maxBlockIdChars: 255,
  maxMarkdownBlockChars: 12000,
  maxImageAltTextChars: 2000,
  /** Top-level `text` of chat.postMessage / chat.update / chat.postEphemeral. */
  maxMessageTextChars: 40000,
  /** The double's cap on `blocksCharCount(blocks)`; over it -> `msg_blocks_too_long`. */
  maxTotalBlockChars: 13000,
  /** Modals (views.open): title, submit and close texts. */
  maxViewTitleChars: 24,
  maxViewButtonChars: 24,
  maxViewBlocks: 100,
  maxViewCallbackIdChars: 255,
  maxPrivateMetadataChars: 3000,
  /** views.open refuses a view whose JSON is larger (`view_too_large`). */
  maxViewBytes: 250_000,
  maxInputLabelChars: 2000,
  maxInputHintChars: 2000,
  /** static_select: options, or option groups (each with at most this many options). */
  maxSelectOptions: 100,
  maxOptionGroups: 100,
  maxOptionGroupLabelChars: 75,
  maxCheckboxOptions: 10,
  maxOptionTextChars: 75,
  maxOptionValueChars: 150,
  maxPlaceholderChars: 150,
  /** A trigger_id can open one view, within this long of the interaction that carried it. */
  triggerTtlMs: 3000,
  /** A response_url accepts this many posts... */
  responseUrlMaxUses: 5,
  /** ...within this long of being issued. */
  responseUrlTtlMs: 30 * 60 * 1000,
} as const;

export type SlackLimits = { -readonly [K in keyof typeof SLACK_LIMITS]: number };

/** The measure `maxTotalBlockChars` applies to: the length of the blocks serialised as JSON. */
export function blocksCharCount(blocks: readonly unknown[]): number {
  return JSON.stringify(blocks).length;
}
