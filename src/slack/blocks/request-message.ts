import { renderPlanText } from "../../plan/render-text.js";
import { ACTIONS, type FittedMessage, type RequestState, type RequestView } from "../types.js";
import { actions, button, context, header, section } from "./build.js";
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
  approvers: "fo_approvers",
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
    fixedPart(0, approversBlocks(view)),
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
  const notify = approverMentions(view);
  // The mentions go into the notification text too, after it is escaped: they are built from
  // validated ids only, so nothing else in the text can become a mention.
  const text = `${fallbackText(
    `Redis failover ${view.runId} for ${view.cluster} (${mode}, new master ${master.name}) requested by ${rawMention(view.requester)}: ${state.short}`,
  )}${notify ? ` — approvers: ${notify.text}` : ""}`;
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

/** Most characters of approver mentions shown; the rest are counted ("and 12 more"). */
const MENTIONS_MAX = 1500;

/**
 * The cluster's approvers as Slack mentions, while the request waits for one of them: users as
 * <@U…>, user groups as <!subteam^S…>. An id that is neither is shown as text, never as markup.
 */
function approverMentions(view: RequestView): { text: string; shown: number } | undefined {
  if (view.state !== "awaiting-approval" || !view.approvers?.length) return undefined;
  const all = view.approvers.map((id) =>
    /^S[A-Z0-9]{1,40}$/.test(id) ? `<!subteam^${id}>` : mention(id),
  );
  const shown: string[] = [];
  let length = 0;
  for (const item of all) {
    if (length + item.length + 2 > MENTIONS_MAX) break;
    shown.push(item);
    length += item.length + 2;
  }
  const more = all.length - shown.length;
  return {
    text: `${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`,
    shown: shown.length,
  };
}

function approversBlocks(view: RequestView) {
  const notify = approverMentions(view);
  if (!notify) return [];
  return [
    section(
      REQUEST_BLOCKS.approvers,
      `:bell: *Approvers:* ${notify.text}. One of you, not the requester, can Approve or Reject below.`,
    ),
  ];
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
