import type {
  ActionsBlock,
  Button,
  ContextBlock,
  HeaderBlock,
  KnownBlock,
  SectionBlock,
} from "@slack/types";
import { BLOCK_LIMITS } from "./limits.js";
import { shorten } from "./text-fit.js";

/**
 * Block constructors. Texts are expected to fit already (the parts measure them); as a last
 * resort each one is clamped to its field's limit so that a block is never invalid.
 */

export function header(blockId: string, text: string): HeaderBlock {
  return {
    type: "header",
    block_id: blockId,
    text: {
      type: "plain_text",
      text: nonEmpty(shorten(text, BLOCK_LIMITS.headerText)),
      emoji: true,
    },
  };
}

export function section(blockId: string, mrkdwn: string): SectionBlock {
  return {
    type: "section",
    block_id: blockId,
    text: { type: "mrkdwn", text: nonEmpty(clampMrkdwn(mrkdwn, BLOCK_LIMITS.sectionText)) },
  };
}

export function context(blockId: string, mrkdwn: string[]): ContextBlock {
  return {
    type: "context",
    block_id: blockId,
    elements: mrkdwn.slice(0, BLOCK_LIMITS.contextElements).map((text) => ({
      type: "mrkdwn" as const,
      text: nonEmpty(clampMrkdwn(text, BLOCK_LIMITS.sectionText)),
    })),
  };
}

export function divider(blockId: string): KnownBlock {
  return { type: "divider", block_id: blockId };
}

export interface ButtonSpec {
  actionId: string;
  label: string;
  value: string;
  style?: "primary" | "danger";
  confirm?: {
    title: string;
    text: string;
    confirm: string;
    deny: string;
    style?: "primary" | "danger";
  };
}

export function button(spec: ButtonSpec): Button {
  const out: Button = {
    type: "button",
    action_id: spec.actionId,
    text: { type: "plain_text", text: shorten(spec.label, BLOCK_LIMITS.buttonText), emoji: true },
    value: spec.value,
  };
  if (spec.style) out.style = spec.style;
  if (spec.confirm) {
    const c = spec.confirm;
    out.confirm = {
      title: { type: "plain_text", text: shorten(c.title, BLOCK_LIMITS.confirmTitle) },
      text: { type: "plain_text", text: shorten(c.text, BLOCK_LIMITS.confirmText) },
      confirm: { type: "plain_text", text: shorten(c.confirm, BLOCK_LIMITS.confirmButton) },
      deny: { type: "plain_text", text: shorten(c.deny, BLOCK_LIMITS.confirmButton) },
      ...(c.style ? { style: c.style } : {}),
    };
  }
  return out;
}

export function actions(blockId: string, buttons: Button[]): ActionsBlock {
  return { type: "actions", block_id: blockId, elements: buttons };
}

function nonEmpty(text: string): string {
  return text.length > 0 ? text : " ";
}

/** Last-resort cut of mrkdwn: drops a trailing partial entity or <…> token. */
function clampMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = shorten(text, max).slice(0, -1);
  const amp = cut.lastIndexOf("&");
  if (amp > cut.length - 5 && !cut.slice(amp).includes(";")) cut = cut.slice(0, amp);
  const open = cut.lastIndexOf("<");
  if (open > cut.lastIndexOf(">")) cut = cut.slice(0, open);
  return `${cut}…`;
}
