import type { Assessment } from "../../topology/assess.js";
import type { Topology } from "../../topology/types.js";
import { ACTIONS, type MessageContent } from "../types.js";
import { actions, button, section } from "./build.js";
import { escapeMrkdwn, slackDate } from "./escape.js";
import { statusMessage } from "./status-message.js";

/**
 * Posted in a run's thread when its executor died: what was running, a fresh view of every
 * server, and a Resume button that needs an approver. Nothing re-runs by itself.
 */
export function resumeOfferMessage(input: {
  runId: string;
  totalSteps: number;
  interruptedStep?: { index: number; title: string };
  resumeFrom: number;
  topology?: Topology;
  assessment?: Assessment;
  topologyError?: string;
  /** After this, Resume is refused (like an approval, the offer expires). */
  expiresAt: number;
  /** A run its requester approved alone (a watch's Fence): any approver may resume it. */
  anyApprover?: boolean;
}): MessageContent {
  const where = input.interruptedStep
    ? `step ${input.interruptedStep.index} of ${input.totalSteps} (${escapeMrkdwn(input.interruptedStep.title)}) was running`
    : `it was between steps`;
  const intro = `:warning: *This run was interrupted*: the bot executing it stopped while ${where}. Nothing re-runs by itself.\nResuming re-checks every step from step ${input.resumeFrom}: a step whose outcome already holds is skipped, not redone. ${input.anyApprover ? "Any approver may press Resume (this run was started by an approver alone, as Fence is)" : "An approver other than the requester must press Resume"}, before ${slackDate(input.expiresAt)}. Resume first re-checks every server: if anything changed it changes nothing and says what. Dismiss abandons the run instead and frees the cluster.`;
  const fresh =
    input.topology && input.assessment
      ? (statusMessage(input.topology, input.assessment).blocks ?? []).slice(1, 8)
      : [
          section(
            "resume_topology_error",
            `:question: The servers could not be read just now: ${escapeMrkdwn(input.topologyError ?? "unknown error")}`,
          ),
        ];
  return {
    text: `Run ${input.runId} was interrupted while ${where.replace(/[*_]/g, "")}; an approver can resume it.`,
    blocks: [
      section("resume_intro", intro),
      ...fresh,
      actions("resume_actions", [
        button({
          actionId: ACTIONS.resume,
          label: "Resume",
          value: input.runId,
          style: "primary",
          confirm: {
            title: "Resume this failover?",
            text: `Steps from ${input.resumeFrom} on are checked and run if their outcome does not hold yet.`,
            confirm: "Resume",
            deny: "Cancel",
          },
        }),
        dismissButton(input.runId),
      ]),
    ],
  };
}

/** Posted when Resume found the servers changed: what changed, and the way out. */
export function resumeRefusedMessage(input: {
  runId: string;
  cluster: string;
  by: string;
  changed: string[];
}): MessageContent {
  const lines = input.changed.map((line) => `• ${escapeMrkdwn(line)}`).join("\n");
  return {
    text: `Resume of run ${input.runId} changed nothing: the servers changed since it stopped.`,
    blocks: [
      section(
        "resume_refused",
        `:no_entry: *Resume changed nothing* (pressed by <@${input.by}>): the servers changed since this run stopped, so its remaining steps no longer fit.\n${lines}\nCheck with \`/redis status ${escapeMrkdwn(input.cluster)}\`. Dismiss records the run as abandoned and frees the cluster for a new plan.`,
      ),
      actions("resume_refused_actions", [dismissButton(input.runId)]),
    ],
  };
}

function dismissButton(runId: string) {
  return button({
    actionId: ACTIONS.dismiss,
    label: "Dismiss",
    value: runId,
    style: "danger",
    confirm: {
      title: "Dismiss this run?",
      text: "The unfinished run is recorded as abandoned (by you) and no longer blocks the cluster. Nothing on the servers is changed.",
      confirm: "Dismiss",
      deny: "Cancel",
      style: "danger",
    },
  });
}
