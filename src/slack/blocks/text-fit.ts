/** Cutting raw text so that its rendering fits a length, without splitting characters. */

export type Keep = "head" | "tail";

/** The first (head) or last (tail) `n` UTF-16 units of `text`, never half a surrogate pair. */
export function sliceSafe(text: string, n: number, keep: Keep): string {
  if (n >= text.length) return text;
  if (n <= 0) return "";
  if (keep === "head") {
    const piece = text.slice(0, n);
    return isHighSurrogate(piece.charCodeAt(piece.length - 1)) ? piece.slice(0, -1) : piece;
  }
  const piece = text.slice(text.length - n);
  return isLowSurrogate(piece.charCodeAt(0)) ? piece.slice(1) : piece;
}

/**
 * A head or tail of `text` of about `n` units, cut at a line break when one is in the half of
 * the piece nearest the cut (so lines are not shown half), else mid-line.
 */
export function pieceOf(text: string, n: number, keep: Keep): string {
  const piece = sliceSafe(text, n, keep);
  if (piece.length === text.length || piece.length === 0) return piece;
  if (keep === "head") {
    const lastBreak = piece.lastIndexOf("\n");
    return lastBreak >= piece.length / 2 ? piece.slice(0, lastBreak) : piece;
  }
  if (text[text.length - piece.length - 1] === "\n") return piece;
  const firstBreak = piece.indexOf("\n");
  return firstBreak >= 0 && firstBreak < piece.length / 2 ? piece.slice(firstBreak + 1) : piece;
}

/**
 * The largest `n` in [lo, hi] for which `fits(n)` holds, assuming that more is never smaller;
 * `lo - 1` when none does.
 */
export function largestFitting(lo: number, hi: number, fits: (n: number) => boolean): number {
  let best = lo - 1;
  let low = lo;
  let high = hi;
  while (low <= high) {
    const mid = Math.floor((low + high) / 2);
    if (fits(mid)) {
      best = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return best;
}

/** `text` cut to at most `max` units with an ellipsis, when longer. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${sliceSafe(text, Math.max(0, max - 1), "head")}…`;
}

/** Number of lines in `text` ("" has none; a trailing newline does not start another). */
export function lineCount(text: string): number {
  if (text.length === 0) return 0;
  let count = 1;
  let at = text.indexOf("\n");
  while (at !== -1) {
    if (at < text.length - 1) count++;
    at = text.indexOf("\n", at + 1);
  }
  return count;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
