/** Durations and ages as people read them, shared by every front end's rendering. */

/** "1.25 s" under ten seconds, "12.3 s" above. */
export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** How long ago a Redis LASTSAVE (unix seconds) was, relative to `now` (unix ms). */
export function lastSaveText(lastSave: number | undefined, now: number): string {
  if (!lastSave) return "-";
  const ago = Math.max(0, Math.round(now / 1000 - lastSave));
  if (ago < 120) return `${ago} s ago`;
  if (ago < 7200) return `${Math.round(ago / 60)} min ago`;
  if (ago < 172800) return `${Math.round(ago / 3600)} h ago`;
  return `${Math.round(ago / 86400)} d ago`;
}
