import { randomBytes } from "node:crypto";

/** "fo-20261124-171530-3f9a": sortable, readable in Slack, safe in file names and shell words. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `fo-${stamp}-${randomBytes(2).toString("hex")}`;
}
