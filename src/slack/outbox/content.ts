import type { KnownBlock } from "@slack/types";
import type { Secrets } from "../../secrets.js";
import type { MessageContent } from "../types.js";
import type { UploadFile } from "./upload-file.js";

/** Slack truncates (and chat.* may reject) a message's top-level `text` beyond this. */
export const MAX_TEXT_CHARS = 40_000;
const PREVIEW_CHARS = 100;
const CUT_MARK = "\n… (cut to fit Slack's limit)";

/** Every string anywhere inside `value` passed through `scrub`; the shape is kept. */
export function scrubDeep<T>(value: T, secrets: Secrets): T {
  if (typeof value === "string") return secrets.scrub(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => scrubDeep(v, secrets)) as T;
  if (typeof value === "object" && value !== null && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, secrets);
    return out as T;
  }
  return value;
}

export function scrubContent(content: MessageContent, secrets: Secrets): MessageContent {
  return scrubDeep(content, secrets);
}

/** A file to upload with its name, title, comment and bytes scrubbed. */
export function scrubUpload(file: UploadFile, secrets: Secrets): UploadFile {
  return {
    filename: secrets.scrub(file.filename),
    title: secrets.scrub(file.title),
    content: scrubFile(file.content, secrets),
    ...(file.initialComment !== undefined && {
      initialComment: secrets.scrub(file.initialComment),
    }),
  };
}

/**
 * File bytes with secrets masked. UTF-8 text is scrubbed as text; anything else byte for byte
 * through latin1 (which maps bytes 1:1), so binary files survive and ASCII secrets in them don't.
 */
export function scrubFile(content: string | Buffer, secrets: Secrets): string | Buffer {
  if (typeof content === "string") return secrets.scrub(content);
  const utf8 = content.toString("utf8");
  if (Buffer.from(utf8, "utf8").equals(content)) return Buffer.from(secrets.scrub(utf8), "utf8");
  return Buffer.from(secrets.scrub(content.toString("latin1")), "latin1");
}

/**
 * The text-only version sent after Slack refused the blocks: the fallback text (or, if there is
 * none, the text found in the blocks), cut to Slack's limit, and no blocks.
 */
export function textOnly(content: MessageContent): MessageContent {
  const text = content.text.trim() !== "" ? content.text : blocksText(content.blocks ?? []);
  return { text: cutText(text === "" ? "(message could not be shown)" : text) };
}

export function cutText(text: string, max = MAX_TEXT_CHARS): string {
  return text.length <= max ? text : text.slice(0, max - CUT_MARK.length) + CUT_MARK;
}

/** What logs may show of a message: its first 100 characters. */
export function preview(text: string): string {
  return text.length <= PREVIEW_CHARS ? text : `${text.slice(0, PREVIEW_CHARS)}…`;
}

function blocksText(blocks: readonly KnownBlock[]): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === "object" && v !== null) {
      const o = v as Record<string, unknown>;
      if (typeof o.text === "string") parts.push(o.text);
      for (const [k, child] of Object.entries(o))
        if (k !== "text" || typeof child !== "string") walk(child);
    }
  };
  walk(blocks);
  return parts.join("\n");
}
