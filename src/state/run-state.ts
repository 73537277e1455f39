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
  | "aborted"
  /** An unfinished run abandoned by an approver (Dismiss); the cluster is free again. */
  | "dismissed";
