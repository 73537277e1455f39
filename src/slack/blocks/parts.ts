import type { KnownBlock } from "@slack/types";
import { section } from "./build.js";
import { cleanText, escapeMrkdwn } from "./escape.js";
import type { Part } from "./fit.js";
import { BLOCK_LIMITS } from "./limits.js";
import { type Keep, largestFitting, pieceOf, shorten } from "./text-fit.js";

/** Blocks shown whole or not at all. */
export function fixedPart(priority: number, blocks: KnownBlock[], cut = false): Part {
  return { priority, size: blocks.length > 0 ? 1 : 0, render: () => blocks, cut };
}

export interface Shown {
  /** The raw text shown (cleaned). */
  shown: string;
  /** The whole raw text (cleaned). */
  full: string;
  cut: boolean;
}

/**
 * A section around one long raw text (output, an error): `render` gets the shown piece escaped
 * by `escape` and builds the section's mrkdwn; the head or tail is kept, as much as fits.
 */
export function textPart(options: {
  id: string;
  priority: number;
  raw: string;
  keep: Keep;
  escape?: (text: string) => string;
  render: (escaped: string, shown: Shown) => string;
  maxChars?: number;
}): Part {
  const full = cleanText(options.raw);
  const escapeText = options.escape ?? escapeMrkdwn;
  const max = options.maxChars ?? BLOCK_LIMITS.sectionText;
  const textAt = (n: number): string => {
    const shown = pieceOf(full, n, options.keep);
    return options.render(escapeText(shown), { shown, full, cut: shown.length < full.length });
  };
  // Escaping never shortens, so more than `max` raw characters can never fit.
  const size = Math.max(
    0,
    largestFitting(0, Math.min(full.length, max), (n) => textAt(n).length <= max),
  );
  return {
    priority: options.priority,
    size: size + 1,
    min: 1,
    cut: size < full.length,
    render: (n) => [section(options.id, textAt(n - 1))],
  };
}

/** A line of a list: its mrkdwn, and raw text to show instead should the mrkdwn be too long. */
export interface ListItem {
  text: string;
  fallback: string;
  /** The item already leaves something out. */
  cut?: boolean;
}

/**
 * A titled list packed into as few sections as the section limit allows; when not every item
 * fits, the first ones are shown followed by `more(omitted)`.
 */
export function listPart(options: {
  id: string;
  priority: number;
  title: string;
  items: ListItem[];
  more: (omitted: number) => string;
  itemMax?: number;
  /** Joins items (default: one per line). */
  separator?: string;
  /** Show the title even when there are no items (default: the part is left out). */
  titleAlone?: boolean;
}): Part {
  const itemMax = Math.min(options.itemMax ?? 1500, BLOCK_LIMITS.sectionText - 200);
  let cut = false;
  const texts = options.items.map((item) => {
    if (item.cut) cut = true;
    if (item.text.length <= itemMax) return item.text;
    cut = true;
    // Escaping turns one character into at most five.
    return escapeMrkdwn(shorten(cleanText(item.fallback), Math.floor(itemMax / 5)));
  });
  const separator = options.separator ?? "\n";
  const render = (n: number): KnownBlock[] => {
    const lines = [options.title, ...texts.slice(0, n)];
    if (n < texts.length) lines.push(options.more(texts.length - n));
    return pack(lines, separator).map((text, i) =>
      section(i === 0 ? options.id : `${options.id}_${i + 1}`, text),
    );
  };
  const size = texts.length === 0 && options.titleAlone ? 1 : texts.length;
  return { priority: options.priority, size, render, cut };
}

/** Joins lines into texts of at most a section's length, never splitting a line. */
function pack(lines: string[], separator: string): string[] {
  const max = BLOCK_LIMITS.sectionText;
  const out: string[] = [];
  let current = "";
  for (const line of lines) {
    if (line.length === 0) continue;
    const next = current.length === 0 ? line : `${current}${separator}${line}`;
    if (next.length <= max) current = next;
    else {
      if (current.length > 0) out.push(current);
      current = line;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}
