/** Where a failover request stands. Derived from the journal; changed only by recorded facts. */
export type RunState =
  | "awaiting-approval"
  | "dry-run"
  | "rejected"
  | "expired"
  | "approved"
  | "running"
  /** Its executor died mid-run; it waits for someone to resume it. */
  | "interrupted"
  | "succeeded"
  | "failed"
  | "aborted";
