import { validateBlocks } from "./blocks.js";
import type { SlackLimits } from "./limits.js";
import type { MessageContent } from "./state.js";

export type ApiError = { ok: false; error: string } & Record<string, unknown>;

/**
 * Checks the text/blocks/attachments of a message the way chat.postMessage does and returns the
 * content to store, or Slack's error body. `blocks` here is the decoded argument.
 */
export function checkContent(
  args: Record<string, unknown>,
  limits: SlackLimits,
): { content: MessageContent } | { error: ApiError } {
  const text = args.text === undefined || args.text === null ? "" : String(args.text);
  const blocks = args.blocks;
  const attachments = Array.isArray(args.attachments) ? args.attachments : undefined;
  if (blocks !== undefined) {
    const rejected = validateBlocks(blocks, limits);
    if (rejected) {
      const errors = "errors" in rejected ? rejected.errors : [];
      return {
        error: {
          ok: false,
          ...rejected,
          ...(errors.length > 0 && {
            response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
          }),
        },
      };
    }
  }
  const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
  if (text === "" && !hasBlocks && !attachments?.length) {
    return { error: { ok: false, error: "no_text" } };
  }
  if (text.length > limits.maxMessageTextChars) {
    return { error: { ok: false, error: "msg_too_long" } };
  }
  return {
    content: {
      text,
      ...(Array.isArray(blocks) && { blocks }),
      ...(attachments && { attachments }),
    },
  };
}
