import type { Assessment } from "../../topology/assess.js";
import type { Topology } from "../../topology/types.js";
import { ACTIONS, type MessageContent } from "../types.js";
import { actions, button, section } from "./build.js";
import { escapeMrkdwn } from "./escape.js";
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
}): MessageContent {
  const where = input.interruptedStep
    ? `step ${input.interruptedStep.index} of ${input.totalSteps} (${escapeMrkdwn(input.interruptedStep.title)}) was running`
    : `it was between steps`;
  const intro = `:warning: *This run was interrupted*: the bot executing it stopped while ${where}. Nothing re-runs by itself.\nResuming re-checks every step from step ${input.resumeFrom}: a step whose outcome already holds is skipped, not redone. An approver other than the requester must press Resume.`;
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
      ]),
    ],
  };
}
