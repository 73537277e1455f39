import { renderPlanText } from "../../plan/render-text.js";
import { ACTIONS, type FittedMessage, type RequestState, type RequestView } from "../types.js";
import { actions, button, context, header } from "./build.js";
import {
  escapeMrkdwn,
  fallbackText,
  fileSafe,
  inlineCode,
  mention,
  rawMention,
  slackDate,
} from "./escape.js";
import { fitParts, type Part } from "./fit.js";
import { BLOCK_LIMITS, DEFAULT_FIT, type FitLimits } from "./limits.js";
import { fixedPart, textPart } from "./parts.js";
import {
  candidatesPart,
  exposurePart,
  modePart,
  risksPart,
  serversPart,
  stepsPart,
} from "./plan-parts.js";
import { stateLine } from "./state-line.js";
import { shorten } from "./text-fit.js";

/** block_ids of the root message: stable across updates, unique within it. */
export const REQUEST_BLOCKS = {
  header: "fo_header",
  state: "fo_state",
  mode: "fo_mode",
  exposure: "fo_exposure",
  preflight: "fo_preflight",
  candidates: "fo_candidates",
  steps: "fo_steps",
  risks: "fo_risks",
  cut: "fo_cut",
  actions: "fo_actions",
} as const;

/** The root message of a failover request: the plan, its state, and the buttons that state allows. */
export function requestMessage(view: RequestView, limits: FitLimits = DEFAULT_FIT): FittedMessage {
  const { plan } = view;
  const state = stateLine(view);
  const mode = plan.mode.toUpperCase();
  const headerText = `Redis failover: ${view.cluster} — ${mode}`;
  const overflowName = `failover-${fileSafe(view.runId)}-plan.txt`;

  const master = plan.newMaster;
  const who = [
    `Requested by ${mention(view.requester)}`,
    `run ${inlineCode(view.runId)}`,
    `new master *${escapeMrkdwn(master.name)}* (${escapeMrkdwn(`${master.host}:${master.port}`)}), old master ${escapeMrkdwn(plan.oldMaster.name)}`,
  ].join(" · ");
  const parts: Part[] = [
    fixedPart(
      0,
      [header(REQUEST_BLOCKS.header, headerText)],
      headerText.length > BLOCK_LIMITS.headerText,
    ),
    textPart({
      id: REQUEST_BLOCKS.state,
      priority: 0,
      raw: view.note ?? "",
      keep: "head",
      maxChars: 2000,
      render: (note, shown) =>
        [state.mrkdwn, who, note ? `_${note}${shown.cut ? "…" : ""}_` : ""]
          .filter(Boolean)
          .join("\n"),
    }),
    modePart(REQUEST_BLOCKS.mode, 1, plan),
    exposurePart(REQUEST_BLOCKS.exposure, 1, plan.exposure),
    serversPart({
      id: REQUEST_BLOCKS.preflight,
      priority: 4,
      title: `*Preflight* (observed ${slackDate(plan.topology.observedAt, "{date_short_pretty} {time_secs}")})`,
      nodes: plan.topology.nodes,
      extra: [
        ...plan.assessment.evidence.map((line) => `evidence — ${line}`),
        ...plan.assessment.problems.map((line) => `problem — ${line}`),
      ],
    }),
    candidatesPart(REQUEST_BLOCKS.candidates, 3, plan),
    stepsPart(REQUEST_BLOCKS.steps, 2, plan.steps),
    risksPart(REQUEST_BLOCKS.risks, 1, plan.risks),
    {
      ...fixedPart(0, [
        context(REQUEST_BLOCKS.cut, [
          `:scissors: Shortened to fit Slack — the complete plan is attached as ${inlineCode(overflowName)}.`,
        ]),
      ]),
      whenCut: true,
    },
    fixedPart(0, buttonsFor(view)),
  ];
  const fitted = fitParts(parts, limits);
  const cut = fitted.cut || state.cut;
  const text = fallbackText(
    `Redis failover ${view.runId} for ${view.cluster} (${mode}, new master ${master.name}) requested by ${rawMention(view.requester)}: ${state.short}`,
  );
  return {
    content: { text, blocks: fitted.blocks },
    ...(cut
      ? {
          overflow: {
            filename: overflowName,
            title: `Failover plan ${view.runId} (${view.cluster})`,
            text: [
              `State: ${state.plain}`,
              `Requested by ${view.requester}${view.approver ? `; approved by ${view.approver}` : ""}`,
              ...(view.note ? [view.note] : []),
              "",
              renderPlanText(plan),
            ].join("\n"),
          },
        }
      : {}),
  };
}

/** Which buttons each state offers: approval while waiting, abort while running, none after. */
function buttonsFor(view: RequestView) {
  const offered = BUTTONS[view.state];
  if (offered === "none") return [];
  if (offered === "abort") {
    return [
      actions(REQUEST_BLOCKS.actions, [
        button({
          actionId: ACTIONS.abort,
          label: "Abort",
          value: view.runId,
          style: "danger",
          confirm: {
            title: "Abort this failover?",
            text: "The run stops before the next step; the step in progress finishes first. The cluster may be left half-way — the summary will say what remains to do.",
            confirm: "Abort",
            deny: "Keep running",
            style: "danger",
          },
        }),
      ]),
    ];
  }
  const target = view.plan.newMaster.name;
  return [
    actions(REQUEST_BLOCKS.actions, [
      button({
        actionId: ACTIONS.approve,
        label: "Approve",
        value: view.runId,
        style: "primary",
        confirm: {
          title: "Run this failover?",
          text: `${view.plan.mode.toUpperCase()} on ${shorten(view.cluster, 60)}: ${shorten(target, 60)} becomes the new master. Every step runs as soon as you confirm; the output appears in the thread.`,
          confirm: "Approve",
          deny: "Cancel",
        },
      }),
      button({ actionId: ACTIONS.reject, label: "Reject", value: view.runId, style: "danger" }),
    ]),
  ];
}

const BUTTONS: Record<RequestState, "approval" | "abort" | "none"> = {
  "awaiting-approval": "approval",
  running: "abort",
  // Resume is offered in the thread, with what was running and a fresh view of every server.
  interrupted: "none",
  "dry-run": "none",
  rejected: "none",
  expired: "none",
  approved: "none",
  succeeded: "none",
  failed: "none",
  aborted: "none",
  dismissed: "none",
};
