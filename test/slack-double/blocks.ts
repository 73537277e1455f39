import { blocksCharCount, type SlackLimits } from "./limits.js";

/** Why a `blocks` argument was refused, in Slack's error codes. */
export type BlocksRejection =
  | { error: "invalid_blocks_format" }
  | { error: "invalid_blocks"; errors: string[] }
  | { error: "msg_blocks_too_long" };

type Json = Record<string, unknown>;

const BLOCK_TYPES = new Set([
  "actions",
  "context",
  "context_actions",
  "divider",
  "file",
  "header",
  "image",
  "input",
  "markdown",
  "rich_text",
  "section",
  "table",
  "video",
]);

const ELEMENT_TYPES = new Set([
  "button",
  "channels_select",
  "checkboxes",
  "conversations_select",
  "datepicker",
  "datetimepicker",
  "email_text_input",
  "external_select",
  "file_input",
  "image",
  "multi_channels_select",
  "multi_conversations_select",
  "multi_external_select",
  "multi_static_select",
  "multi_users_select",
  "number_input",
  "overflow",
  "plain_text_input",
  "radio_buttons",
  "rich_text_input",
  "static_select",
  "timepicker",
  "url_text_input",
  "users_select",
  "workflow_button",
]);

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Validates a message's `blocks` the way chat.postMessage/chat.update do. `blocks` is the decoded
 * argument: an array, or a string that did not parse as JSON. Returns undefined when accepted.
 * Error strings follow Slack's "<reason> [json-pointer:/blocks/0/text/text]" form.
 */
export function validateBlocks(blocks: unknown, limits: SlackLimits): BlocksRejection | undefined {
  if (!Array.isArray(blocks) || !blocks.every(isObject)) return { error: "invalid_blocks_format" };
  const v = new BlockValidator(limits);
  v.message(blocks);
  if (v.errors.length > 0) return { error: "invalid_blocks", errors: v.errors };
  if (blocksCharCount(blocks) > limits.maxTotalBlockChars) return { error: "msg_blocks_too_long" };
  return undefined;
}

class BlockValidator {
  readonly errors: string[] = [];
  private readonly blockIds = new Set<string>();
  private readonly actionIds = new Set<string>();

  constructor(private readonly limits: SlackLimits) {}

  message(blocks: Json[]): void {
    if (blocks.length > this.limits.maxBlocksPerMessage) {
      this.fail("/blocks", `no more than ${this.limits.maxBlocksPerMessage} items allowed`);
    }
    blocks.forEach((block, i) => {
      this.block(block, `/blocks/${i}`);
    });
  }

  private fail(pointer: string, reason: string): void {
    this.errors.push(`${reason} [json-pointer:${pointer}]`);
  }

  private block(b: Json, at: string): void {
    if (typeof b.type !== "string") {
      this.fail(`${at}/type`, "missing required field: type");
      return;
    }
    if (!BLOCK_TYPES.has(b.type)) {
      this.fail(`${at}/type`, `unsupported type: ${b.type}`);
      return;
    }
    this.id(b.block_id, `${at}/block_id`, this.limits.maxBlockIdChars, this.blockIds, "block_id");
    if (b.type === "section") this.section(b, at);
    else if (b.type === "header") {
      this.text(b.text, `${at}/text`, this.limits.maxHeaderTextChars, true);
    } else if (b.type === "context") this.context(b, at);
    else if (b.type === "actions") this.actions(b, at);
    else if (b.type === "markdown") this.markdown(b, at);
    else if (b.type === "image") this.image(b, at);
    else if (b.type === "rich_text" && !Array.isArray(b.elements)) {
      this.fail(`${at}/elements`, "missing required field");
    }
  }

  private section(b: Json, at: string): void {
    if (b.text === undefined && b.fields === undefined) {
      this.fail(at, "must provide either text or fields");
    }
    if (b.text !== undefined) this.text(b.text, `${at}/text`, this.limits.maxSectionTextChars);
    if (b.fields !== undefined) {
      const fields = b.fields;
      if (!Array.isArray(fields) || fields.length === 0) {
        this.fail(`${at}/fields`, "must be a non-empty array");
      } else {
        if (fields.length > this.limits.maxSectionFields) {
          this.fail(`${at}/fields`, `no more than ${this.limits.maxSectionFields} items allowed`);
        }
        fields.forEach((f, i) => {
          this.text(f, `${at}/fields/${i}`, this.limits.maxSectionFieldChars);
        });
      }
    }
    if (b.accessory !== undefined) this.element(b.accessory, `${at}/accessory`);
  }

  private context(b: Json, at: string): void {
    const els = this.elements(b, at, this.limits.maxContextElements);
    els.forEach((el, i) => {
      const p = `${at}/elements/${i}`;
      if (isObject(el) && el.type === "image") this.imageElement(el, p);
      else this.text(el, p, this.limits.maxSectionTextChars);
    });
  }

  private actions(b: Json, at: string): void {
    const els = this.elements(b, at, this.limits.maxActionsElements);
    els.forEach((el, i) => {
      this.element(el, `${at}/elements/${i}`);
    });
  }

  private elements(b: Json, at: string, max: number): unknown[] {
    const els = b.elements;
    if (!Array.isArray(els) || els.length === 0) {
      this.fail(`${at}/elements`, "missing required field: must be a non-empty array");
      return [];
    }
    if (els.length > max) this.fail(`${at}/elements`, `no more than ${max} items allowed`);
    return els;
  }

  private markdown(b: Json, at: string): void {
    if (typeof b.text !== "string" || b.text.length === 0) {
      this.fail(`${at}/text`, "missing required field: text");
      return;
    }
    this.maxLen(b.text, `${at}/text`, this.limits.maxMarkdownBlockChars);
  }

  private image(b: Json, at: string): void {
    if (b.image_url === undefined && b.slack_file === undefined) {
      this.fail(`${at}/image_url`, "missing required field: image_url or slack_file");
    }
    if (typeof b.alt_text !== "string") this.fail(`${at}/alt_text`, "missing required field");
    else this.maxLen(b.alt_text, `${at}/alt_text`, this.limits.maxImageAltTextChars);
    if (b.title !== undefined) this.text(b.title, `${at}/title`, 2000, true);
  }

  private imageElement(el: Json, at: string): void {
    if (el.image_url === undefined && el.slack_file === undefined) {
      this.fail(`${at}/image_url`, "missing required field: image_url or slack_file");
    }
    if (typeof el.alt_text !== "string") this.fail(`${at}/alt_text`, "missing required field");
  }

  private element(el: unknown, at: string): void {
    if (!isObject(el) || typeof el.type !== "string") {
      this.fail(`${at}/type`, "missing required field: type");
      return;
    }
    if (!ELEMENT_TYPES.has(el.type)) {
      this.fail(`${at}/type`, `unsupported type: ${el.type}`);
      return;
    }
    this.id(
      el.action_id,
      `${at}/action_id`,
      this.limits.maxActionIdChars,
      this.actionIds,
      "action_id",
    );
    if (el.type === "image") {
      this.imageElement(el, at);
      return;
    }
    if (el.type !== "button") return;
    this.text(el.text, `${at}/text`, this.limits.maxButtonTextChars, true);
    if (el.value !== undefined) {
      if (typeof el.value !== "string") this.fail(`${at}/value`, "must be a string");
      else this.maxLen(el.value, `${at}/value`, this.limits.maxButtonValueChars);
    }
    if (el.url !== undefined) {
      if (typeof el.url !== "string") this.fail(`${at}/url`, "must be a string");
      else this.maxLen(el.url, `${at}/url`, this.limits.maxButtonUrlChars);
    }
    if (el.style !== undefined && el.style !== "primary" && el.style !== "danger") {
      this.fail(`${at}/style`, "must be one of primary, danger");
    }
  }

  private id(v: unknown, at: string, max: number, seen: Set<string>, what: string): void {
    if (v === undefined) return;
    if (typeof v !== "string" || v.length === 0) {
      this.fail(at, "must be a non-empty string");
      return;
    }
    this.maxLen(v, at, max);
    if (seen.has(v)) this.fail(at, `duplicate ${what}: ${v}`);
    seen.add(v);
  }

  private text(t: unknown, at: string, max: number, plainOnly = false): void {
    if (!isObject(t)) {
      this.fail(at, "missing required field: text object");
      return;
    }
    if (t.type !== "plain_text" && (plainOnly || t.type !== "mrkdwn")) {
      this.fail(`${at}/type`, plainOnly ? "must be plain_text" : "must be plain_text or mrkdwn");
      return;
    }
    if (typeof t.text !== "string") {
      this.fail(`${at}/text`, "missing required field: text");
      return;
    }
    if (t.text.length === 0) {
      this.fail(`${at}/text`, "must be more than 0 characters");
      return;
    }
    this.maxLen(t.text, `${at}/text`, max);
  }

  private maxLen(s: string, at: string, max: number): void {
    if (s.length > max) this.fail(at, `must be less than ${max + 1} characters`);
  }
}
