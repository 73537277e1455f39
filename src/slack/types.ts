import type { KnownBlock } from "@slack/types";
import type { StepStatus } from "../engine/events.js";
import type { PlannedStep } from "../plan/types.js";
import type { RunView } from "../runs/types.js";
import type { RunState } from "../state/run-state.js";

/** What a Slack message says: fallback text (notifications, screen readers) and Block Kit. */
export interface MessageContent {
  text: string;
  blocks?: KnownBlock[];
}

/** A message the outbox will post (or has posted); its ts is known once Slack has answered. */
export interface MessageRef {
  readonly channel: string;
  /** Resolves with the message's ts once posted; rejects if it could never be posted. */
  ts(): Promise<string>;
}

/** The life of a failover request in Slack. One transition function moves between these. */
export type RequestState = RunState;

/**
 * Everything the root (approval) message shows, for every state: the lifecycle's view of a run,
 * and the cluster's approvers (Slack user ids U…/W…, user group ids S…), notified while it waits.
 */
export type RequestView = { approvers?: readonly string[] } & Pick<
  RunView,
  | "runId"
  | "cluster"
  | "plan"
  | "state"
  | "requester"
  | "approver"
  | "decidedBy"
  | "expiresAt"
  | "currentStep"
  | "result"
  | "note"
>;

/** One step's reply in the thread, as it evolves. */
export interface StepView {
  step: PlannedStep;
  total: number;
  status: StepStatus;
  /** Output so far (already scrubbed of secrets). */
  output: string;
  durationMs?: number;
  error?: string;
  reason?: string;
  warnings: string[];
}

/** Block-building results that may not fit Slack's limits: what was cut is uploaded whole. */
export interface FittedMessage {
  content: MessageContent;
  /** The complete text when the message had to be cut; the caller uploads it to the thread. */
  overflow?: { filename: string; title: string; text: string };
}

/** Action ids of the buttons (their labels, "Approve" and "Reject", are a contract). */
export const ACTIONS = {
  approve: "failover_approve",
  reject: "failover_reject",
  abort: "failover_abort",
  resume: "failover_resume",
  dismiss: "failover_dismiss",
} as const;
