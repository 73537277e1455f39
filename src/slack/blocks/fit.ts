import type { KnownBlock } from "@slack/types";
import { DEFAULT_FIT, type FitLimits } from "./limits.js";
import { largestFitting } from "./text-fit.js";

/**
 * One piece of a message that can be shown with more or less detail. `render(size)` is the
 * piece at its fullest; `render(n)` for 0 < n < size shows less (fewer lines, a shorter tail)
 * and says so. More detail never costs fewer characters or blocks.
 */
export interface Part {
  /** Lower is placed first when space runs out; display order is the order of the parts. */
  priority: number;
  /** Detail levels; 0 means there is nothing to show. */
  size: number;
  render(n: number): KnownBlock[];
  /** render(size) already leaves something out (a per-block limit cut it). */
  cut?: boolean;
  /** Shown only when something in the message was cut (its room is reserved up front). */
  whenCut?: boolean;
  /** Never shown with less than this detail: dropped instead (default 1). */
  min?: number;
}

export interface Fitted {
  blocks: KnownBlock[];
  /** Whether anything was left out or shortened. */
  cut: boolean;
}

/** Characters `blocks` add to `JSON.stringify` of the message's array (a comma each). */
export function blocksCost(blocks: readonly KnownBlock[]): number {
  let cost = 0;
  for (const block of blocks) cost += JSON.stringify(block).length + 1;
  return cost;
}

/** The length `JSON.stringify(blocks)` has: the measure Slack's payload limit applies to. */
export function blocksChars(blocks: readonly KnownBlock[]): number {
  return JSON.stringify(blocks).length;
}

/**
 * Fits parts into a message: by priority, each gets its full rendering if it fits, else the
 * most detail that fits in what is left, else nothing. The result keeps the parts' order.
 */
export function fitParts(parts: readonly Part[], limits: FitLimits = DEFAULT_FIT): Fitted {
  let chars = limits.chars - 1;
  let count = limits.blocks;
  let cut = false;
  const chosen = new Map<number, KnownBlock[]>();
  const reserved = new Map<number, KnownBlock[]>();
  parts.forEach((part, i) => {
    if (!part.whenCut || part.size <= 0) return;
    const blocks = part.render(part.size);
    chars -= blocksCost(blocks);
    count -= blocks.length;
    reserved.set(i, blocks);
  });
  const order = parts
    .map((part, i) => ({ part, i }))
    .filter(({ part }) => !part.whenCut && part.size > 0)
    .sort((a, b) => a.part.priority - b.part.priority || a.i - b.i);
  // Room for every part's least detailed rendering is held back until its turn, so that an
  // early part cannot crowd a later one out entirely (when all of them can fit at all).
  const least = new Map(
    order.map(({ part, i }) => {
      const min = Math.max(1, part.min ?? 1);
      const blocks = min <= part.size ? part.render(min) : [];
      return [i, { chars: blocksCost(blocks), count: blocks.length, min }] as const;
    }),
  );
  let heldChars = 0;
  let heldCount = 0;
  for (const { chars: c, count: n } of least.values()) {
    heldChars += c;
    heldCount += n;
  }
  for (const { part, i } of order) {
    const own = least.get(i) ?? { chars: 0, count: 0, min: 1 };
    heldChars -= own.chars;
    heldCount -= own.count;
    const holdBack = chars - heldChars >= own.chars && count - heldCount >= own.count;
    const roomChars = holdBack ? chars - heldChars : chars;
    const roomCount = holdBack ? count - heldCount : count;
    const fits = (blocks: KnownBlock[]) =>
      blocks.length <= roomCount && blocksCost(blocks) <= roomChars;
    let blocks = part.render(part.size);
    if (fits(blocks)) {
      if (part.cut) cut = true;
    } else {
      cut = true;
      const n = largestFitting(own.min, part.size - 1, (k) => fits(part.render(k)));
      if (n < own.min) continue;
      blocks = part.render(n);
    }
    chosen.set(i, blocks);
    chars -= blocksCost(blocks);
    count -= blocks.length;
  }
  if (cut) for (const [i, blocks] of reserved) chosen.set(i, blocks);
  const out: KnownBlock[] = [];
  parts.forEach((_, i) => {
    out.push(...(chosen.get(i) ?? []));
  });
  return { blocks: out, cut };
}
