export type ApprovalCheck = { ok: true } | { ok: false; reason: string };

/**
 * The two-person rule: may `user` decide on a run `requester` asked for? The front end
 * resolves who the approvers are (Slack user groups, for the bot); the lifecycle asks.
 */
export interface ApproverCheck {
  check(approvers: readonly string[], user: string, requester: string): Promise<ApprovalCheck>;
}
