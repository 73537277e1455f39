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

/**
 * Validates the blocks of a modal view (views.open): up to `maxViewBlocks` of them, input
 * blocks allowed. Returns the errors, in the same "<reason> [json-pointer:…]" form, with
 * pointers under `/view/blocks`.
 */
export function validateViewBlocks(blocks: unknown, limits: SlackLimits): string[] {
  if (!Array.isArray(blocks) || !blocks.every(isObject)) {
    return ["must be an array of block objects [json-pointer:/view/blocks]"];
  }
  const v = new BlockValidator(limits, "/view/blocks", true);
  v.message(blocks, limits.maxViewBlocks);
  return v.errors;
}

class BlockValidator {
  readonly errors: string[] = [];
  private readonly blockIds = new Set<string>();
  private readonly actionIds = new Set<string>();

  constructor(
    private readonly limits: SlackLimits,
    private readonly root = "/blocks",
    /** Input blocks exist only in modals (and Home tabs), never in messages. */
    private readonly inputs = false,
  ) {}

  message(blocks: Json[], max = this.limits.maxBlocksPerMessage): void {
    if (blocks.length > max) this.fail(this.root, `no more than ${max} items allowed`);
    blocks.forEach((block, i) => {
      this.block(block, `${this.root}/${i}`);
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
    else if (b.type === "input") this.input(b, at);
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

  private input(b: Json, at: string): void {
    if (!this.inputs) {
      this.fail(`${at}/type`, "unsupported type: input");
      return;
    }
    this.text(b.label, `${at}/label`, this.limits.maxInputLabelChars, true);
    if (b.hint !== undefined) this.text(b.hint, `${at}/hint`, this.limits.maxInputHintChars, true);
    if (b.optional !== undefined && typeof b.optional !== "boolean") {
      this.fail(`${at}/optional`, "must be a boolean");
    }
    if (b.element === undefined) this.fail(`${at}/element`, "missing required field: element");
    else this.element(b.element, `${at}/element`);
  }

  /** static_select, checkboxes and radio_buttons: their options, and initial ones among them. */
  private choices(el: Json, at: string): void {
    if (el.placeholder !== undefined) {
      this.text(el.placeholder, `${at}/placeholder`, this.limits.maxPlaceholderChars, true);
    }
    const select = el.type === "static_select" || el.type === "multi_static_select";
    const values = new Set<string>();
    if (select && el.option_groups !== undefined) {
      if (el.options !== undefined) this.fail(at, "must provide either options or option_groups");
      const groups = el.option_groups;
      if (!Array.isArray(groups) || groups.length === 0) {
        this.fail(`${at}/option_groups`, "must be a non-empty array");
        return;
      }
      if (groups.length > this.limits.maxOptionGroups) {
        this.fail(
          `${at}/option_groups`,
          `no more than ${this.limits.maxOptionGroups} items allowed`,
        );
      }
      groups.forEach((group, g) => {
        const p = `${at}/option_groups/${g}`;
        if (!isObject(group)) {
          this.fail(p, "must be an option group object");
          return;
        }
        this.text(group.label, `${p}/label`, this.limits.maxOptionGroupLabelChars, true);
        this.options(group.options, `${p}/options`, this.limits.maxSelectOptions, true, values);
      });
    } else {
      const max = select ? this.limits.maxSelectOptions : this.limits.maxCheckboxOptions;
      this.options(el.options, `${at}/options`, max, select, values);
    }
    const initial = [
      ...(isObject(el.initial_option) ? [el.initial_option] : []),
      ...(Array.isArray(el.initial_options) ? el.initial_options.filter(isObject) : []),
    ];
    for (const option of initial) {
      if (typeof option.value !== "string" || !values.has(option.value)) {
        this.fail(`${at}/initial_option`, "must match one of the provided options");
      }
    }
  }

  private options(
    list: unknown,
    at: string,
    max: number,
    plainOnly: boolean,
    values: Set<string>,
  ): void {
    if (!Array.isArray(list) || list.length === 0) {
      this.fail(at, "missing required field: must be a non-empty array");
      return;
    }
    if (list.length > max) this.fail(at, `no more than ${max} items allowed`);
    list.forEach((option, i) => {
      const p = `${at}/${i}`;
      if (!isObject(option)) {
        this.fail(p, "must be an option object");
        return;
      }
      this.text(option.text, `${p}/text`, this.limits.maxOptionTextChars, plainOnly);
      if (typeof option.value !== "string" || option.value.length === 0) {
        this.fail(`${p}/value`, "missing required field: value");
        return;
      }
      this.maxLen(option.value, `${p}/value`, this.limits.maxOptionValueChars);
      if (values.has(option.value))
        this.fail(`${p}/value`, `duplicate option value: ${option.value}`);
      values.add(option.value);
    });
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
    if (["static_select", "multi_static_select", "checkboxes", "radio_buttons"].includes(el.type)) {
      this.choices(el, at);
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
