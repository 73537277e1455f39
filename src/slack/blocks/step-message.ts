import type { StepStatus } from "../../engine/events.js";
import { seconds } from "../../format/time-text.js";
import type { FittedMessage, StepView } from "../types.js";
import { context } from "./build.js";
import { escapeCode, escapeMrkdwn, fallbackText, fence, fileSafe, inlineCode } from "./escape.js";
import { fitParts, type Part } from "./fit.js";
import { DEFAULT_FIT, type FitLimits } from "./limits.js";
import { fixedPart, listPart, textPart } from "./parts.js";
import { bulletItem } from "./plan-parts.js";
import { lineCount, shorten } from "./text-fit.js";

export const STEP_BLOCKS = {
  title: "step_title",
  commands: "step_commands",
  error: "step_error",
  warnings: "step_warnings",
  output: "step_output",
  cut: "step_cut",
} as const;

const STATUS: Record<StepStatus, { emoji: string; word: string }> = {
  running: { emoji: ":hourglass_flowing_sand:", word: "running" },
  ok: { emoji: ":white_check_mark:", word: "ok" },
  failed: { emoji: ":x:", word: "failed" },
  skipped: { emoji: ":fast_forward:", word: "skipped" },
};

/** A step's reply in the thread: what it runs, how it went, and the tail of its output. */
export function stepMessage(view: StepView, limits: FitLimits = DEFAULT_FIT): FittedMessage {
  const { step } = view;
  const filename = `step-${step.index}-of-${view.total}-${fileSafe(step.title).slice(0, 40)}.txt`;
  const status = STATUS[view.status];
  const heading = `Step ${step.index}/${view.total}: ${step.title}`;
  const parts: Part[] = [
    textPart({
      id: STEP_BLOCKS.title,
      priority: 0,
      raw: view.reason ?? "",
      keep: "head",
      render: (reason, shown) =>
        [
          `*Step ${step.index}/${view.total}: ${escapeMrkdwn(shorten(step.title, 300))}*${step.host ? ` — on ${inlineCode(shorten(step.host, 100))}` : ""}`,
          `${status.emoji} ${statusText(view)}${reason ? ` — ${reason}${shown.cut ? "…" : ""}` : ""}`,
        ].join("\n"),
    }),
    commandsPart(view),
    textPart({
      id: STEP_BLOCKS.error,
      priority: 1,
      raw: view.error ?? "",
      keep: "head",
      escape: escapeCode,
      render: (error, shown) =>
        `:x: *Error*${shown.cut ? " (beginning — the full text is attached)" : ""}\n${fence(error)}`,
      maxChars: 1500,
    }),
    listPart({
      id: STEP_BLOCKS.warnings,
      priority: 1,
      title: "*Warnings*",
      items: view.warnings.map((warning) => bulletItem(":warning: ", warning, 600)),
      more: (omitted) => `_… ${omitted} more warnings — the full text is attached._`,
    }),
    outputPart(view),
    {
      ...fixedPart(0, [
        context(STEP_BLOCKS.cut, [
          `:scissors: Shortened to fit Slack — the full output is attached as ${inlineCode(filename)}.`,
        ]),
      ]),
      whenCut: true,
    },
  ];
  if (!view.error) parts.splice(2, 1);
  const fitted = fitParts(parts, limits);
  const cut = fitted.cut || step.title.length > 300;
  const text = fallbackText(
    `${heading} — ${status.word}${durationText(view)}${view.error ? `: ${view.error}` : ""}`,
    500,
  );
  return {
    content: { text, blocks: fitted.blocks },
    ...(cut
      ? {
          overflow: {
            filename,
            title: `Step ${step.index}/${view.total} output: ${shorten(step.title, 100)}`,
            text: stepText(view),
          },
        }
      : {}),
  };
}

function statusText(view: StepView): string {
  return `${STATUS[view.status].word}${durationText(view)}`;
}

function durationText(view: StepView): string {
  if (view.durationMs === undefined || view.status === "skipped") return "";
  return view.status === "running"
    ? ` (${seconds(view.durationMs)} so far)`
    : ` ${view.status === "failed" ? "after" : "in"} ${seconds(view.durationMs)}`;
}

const COMMANDS_SHOWN = 20;
const COMMAND_MAX = 1200;

function commandsPart(view: StepView): Part {
  const commands = view.step.commands;
  return listPart({
    id: STEP_BLOCKS.commands,
    priority: 2,
    title: "",
    items:
      commands.length === 0
        ? []
        : [
            {
              text: fence(
                commands
                  .slice(0, COMMANDS_SHOWN)
                  .map((command) => escapeCode(shorten(command, COMMAND_MAX)))
                  .join("\n"),
              ),
              fallback: commands.join("\n"),
              cut: commands.length > COMMANDS_SHOWN || commands.some((c) => c.length > COMMAND_MAX),
            },
            ...(commands.length > COMMANDS_SHOWN
              ? [
                  {
                    text: `_… ${commands.length - COMMANDS_SHOWN} more commands — the full text is attached._`,
                    fallback: "",
                  },
                ]
              : []),
          ],
    itemMax: 2500,
    more: () => "_… more commands — the full text is attached._",
  });
}

/** The output's tail in a code block, saying how many earlier lines were cut. */
function outputPart(view: StepView): Part {
  if (view.status === "skipped" && view.output.length === 0) return fixedPart(3, []);
  let total: number | undefined;
  return textPart({
    id: STEP_BLOCKS.output,
    priority: 3,
    raw: view.output,
    keep: "tail",
    escape: escapeCode,
    render: (escaped, shown) => {
      if (shown.full.length === 0)
        return view.status === "running" ? "_No output yet._" : "_No output._";
      total ??= lineCount(shown.full);
      const cutLines = total - lineCount(shown.shown);
      const note = shown.cut
        ? `_… ${cutLines > 0 ? `${cutLines} earlier ${cutLines === 1 ? "line" : "lines"}` : "the start of the output"} cut — full output attached_\n`
        : "";
      const midLine =
        shown.cut && shown.full[shown.full.length - shown.shown.length - 1] !== "\n" ? "…" : "";
      return `*Output*${view.status === "running" ? " so far" : ""}\n${note}${fence(`${midLine}${escaped}`)}`;
    },
  });
}

/** The whole step as plain text, for the attached file. */
export function stepText(view: StepView): string {
  const lines = [
    `Step ${view.step.index}/${view.total}: ${view.step.title}${view.step.host ? ` (on ${view.step.host})` : ""}`,
    `Status: ${statusText(view)}${view.reason ? ` — ${view.reason}` : ""}`,
  ];
  if (view.error) lines.push(`Error: ${view.error}`);
  for (const warning of view.warnings) lines.push(`Warning: ${warning}`);
  if (view.step.commands.length > 0)
    lines.push("", "Commands:", ...view.step.commands.map((c) => `  ${c}`));
  lines.push("", "Output:", view.output);
  return lines.join("\n");
}
