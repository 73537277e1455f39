import { seconds } from "../../format/time-text.js";
import type { FittedMessage } from "../types.js";
import { context, header } from "./build.js";
import { escapeMrkdwn, fallbackText, fileSafe, inlineCode, mention, rawMention } from "./escape.js";
import { fitParts, type Part } from "./fit.js";
import { BLOCK_LIMITS, DEFAULT_FIT, type FitLimits } from "./limits.js";
import { fixedPart, listPart, textPart } from "./parts.js";
import { bulletItem, exposurePart, serversPart } from "./plan-parts.js";
import {
  allWarnings,
  type Outcome,
  outcomeOf,
  outcomeText,
  renderSummaryText,
  type SummaryInput,
  stepLine,
} from "./summary-text.js";
import { shorten } from "./text-fit.js";

export type { SummaryInput } from "./summary-text.js";

export const SUMMARY_BLOCKS = {
  header: "sum_header",
  outcome: "sum_outcome",
  watching: "sum_watching",
  next: "sum_next",
  warnings: "sum_warnings",
  exposure: "sum_exposure",
  after: "sum_after",
  before: "sum_before",
  steps: "sum_steps",
  cut: "sum_cut",
} as const;

const HEADLINE: Record<Outcome, { emoji: string; word: string }> = {
  succeeded: { emoji: ":white_check_mark:", word: "succeeded" },
  failed: { emoji: ":x:", word: "FAILED" },
  aborted: { emoji: ":octagonal_sign:", word: "aborted" },
};

/** The final reply in the thread: how it ended, the cluster before and after, and what is left to do. */
export function summaryMessage(
  input: SummaryInput,
  limits: FitLimits = DEFAULT_FIT,
): FittedMessage {
  const { plan, result } = input;
  const outcome = outcomeOf(result);
  const headline = HEADLINE[outcome];
  const filename = `failover-${fileSafe(result.runId)}-summary.txt`;
  const headerText = `Failover ${headline.word}: ${result.cluster}`;
  const people = [
    `Requested by ${mention(input.requester)}`,
    input.approver ? `approved by ${mention(input.approver)}` : "no approver recorded",
    ...(input.abortedBy ? [`aborted by ${mention(input.abortedBy)}`] : []),
    `run ${inlineCode(result.runId)}`,
    `total ${seconds(result.durationMs)}`,
  ].join(" · ");
  const after = result.topologyAfter;
  const parts: Part[] = [
    fixedPart(
      0,
      [header(SUMMARY_BLOCKS.header, headerText)],
      headerText.length > BLOCK_LIMITS.headerText,
    ),
    textPart({
      id: SUMMARY_BLOCKS.outcome,
      priority: 0,
      // Without who aborted: the people line below mentions them.
      raw: outcomeText({
        plan,
        result,
        requester: input.requester,
        topologyBefore: input.topologyBefore,
      }),
      keep: "head",
      maxChars: 2000,
      render: (text, shown) =>
        `${headline.emoji} ${text}${shown.cut ? "… _(cut — the full summary is attached)_" : ""}\n${people}`,
    }),
    // The run's fence step could not reach the old master: the journal now holds a watch on it.
    ...(result.facts.unfenced
      ? [
          fixedPart(0, [
            context(SUMMARY_BLOCKS.watching, [
              `:eyes: Watching ${escapeMrkdwn(shorten(result.facts.unfenced.name, 200))}: the bot probes it every few seconds and says in this thread when it answers again, with a Fence button for approvers.`,
            ]),
          ]),
        ]
      : []),
    listPart({
      id: SUMMARY_BLOCKS.next,
      priority: 1,
      title: "*What remains to do*",
      items: result.nextActions.map((action) => bulletItem(":point_right: ", action, 1000)),
      more: (omitted) => `_… ${omitted} more — the full summary is attached._`,
    }),
    listPart({
      id: SUMMARY_BLOCKS.warnings,
      priority: 1,
      title: "*Warnings*",
      items: allWarnings(result).map((warning) => bulletItem(":warning: ", warning, 600)),
      more: (omitted) => `_… ${omitted} more warnings — the full summary is attached._`,
    }),
    exposurePart(SUMMARY_BLOCKS.exposure, 1, plan.exposure),
    after
      ? serversPart({
          id: SUMMARY_BLOCKS.after,
          priority: 2,
          title: "*Topology after*",
          nodes: after.nodes,
        })
      : fixedPart(2, [context(SUMMARY_BLOCKS.after, ["*Topology after:* not observed."])]),
    serversPart({
      id: SUMMARY_BLOCKS.before,
      priority: 3,
      title: "*Topology before*",
      nodes: input.topologyBefore.nodes,
    }),
    listPart({
      id: SUMMARY_BLOCKS.steps,
      priority: 4,
      title: "*Steps*",
      items: result.steps.map((step) => bulletItem("", stepLine(step), 400)),
      more: (omitted) => `_… ${omitted} more steps — the full summary is attached._`,
    }),
    {
      ...fixedPart(0, [
        context(SUMMARY_BLOCKS.cut, [
          `:scissors: Shortened to fit Slack — the full summary is attached as ${inlineCode(filename)}.`,
        ]),
      ]),
      whenCut: true,
    },
  ];
  const fitted = fitParts(parts, limits);
  const text = fallbackText(
    `Failover ${result.runId} on ${result.cluster} ${headline.word}: ${outcomeText(input)} Requested by ${rawMention(input.requester)}${input.approver ? `, approved by ${rawMention(input.approver)}` : ""}.`,
    600,
  );
  return {
    content: { text, blocks: fitted.blocks },
    ...(fitted.cut
      ? {
          overflow: {
            filename,
            title: `Failover ${result.runId} summary (${result.cluster})`,
            text: renderSummaryText(input),
          },
        }
      : {}),
  };
}
