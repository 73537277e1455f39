import type { Candidate, Plan, PlannedStep } from "../../plan/types.js";
import { describeNode } from "../../topology/describe.js";
import type { NodeState } from "../../topology/types.js";
import { escapeCode, escapeMrkdwn, fence, inlineCode } from "./escape.js";
import type { Part } from "./fit.js";
import { type ListItem, listPart, textPart } from "./parts.js";
import { shorten } from "./text-fit.js";

/** The sections of a plan an approver reads, as parts of the root message. */

const ATTACHED = "the full plan is attached";
/** Commands shown per step before "… N more". */
const COMMANDS_SHOWN = 12;
/** The one-pass copy's receiving command is ~900 characters: approvers read it whole. */
const COMMAND_MAX = 1200;
const STEP_ITEM_MAX = 2000;
/** A one-paragraph text (the mode's reason, the exposure) longer than this is cut and attached. */
export const PARAGRAPH_MAX = 1500;

export function modePart(id: string, priority: number, plan: Plan): Part {
  return textPart({
    id,
    priority,
    raw: plan.modeReason,
    keep: "head",
    maxChars: PARAGRAPH_MAX,
    render: (reason, shown) =>
      `*Why ${plan.mode}:* ${reason}${shown.cut ? `… _(cut — ${ATTACHED})_` : ""}`,
  });
}

export function exposurePart(id: string, priority: number, exposure: string): Part {
  return textPart({
    id,
    priority,
    raw: exposure,
    keep: "head",
    maxChars: PARAGRAPH_MAX,
    render: (text, shown) =>
      `:droplet: *Data-loss exposure:* ${text}${shown.cut ? "… _(cut — see the attached text)_" : ""}`,
  });
}

/** One line per server, as `describeNode` puts it. */
export function serversPart(options: {
  id: string;
  priority: number;
  title: string;
  nodes: readonly NodeState[];
  extra?: string[];
}): Part {
  const items: ListItem[] = options.nodes.map((node) => {
    const text = describeNode(node);
    const emoji = !node.reachable
      ? ":red_circle:"
      : node.role === "master"
        ? ":large_blue_circle:"
        : ":white_circle:";
    return bulletItem(`${emoji} `, text, 400);
  });
  for (const line of options.extra ?? []) items.push(bulletItem("• ", line, 400));
  return listPart({
    id: options.id,
    priority: options.priority,
    title: options.title,
    items,
    more: (omitted) => `_… ${omitted} more lines not shown — see the attached text._`,
  });
}

export function candidatesPart(id: string, priority: number, plan: Plan): Part {
  const items = plan.candidates.map((candidate) => candidateItem(candidate, plan.newMaster.name));
  return listPart({
    id,
    priority,
    title: "*Candidates* (Sentinel's order: priority, then offset)",
    items,
    more: (omitted) => `_… ${omitted} more candidates not shown — ${ATTACHED}._`,
  });
}

function candidateItem(candidate: Candidate, chosen: string): ListItem {
  const heard =
    candidate.lastHeardSecondsAgo !== undefined
      ? `last heard from master ${candidate.lastHeardSecondsAgo} s ago`
      : "last heard from master: unknown";
  const status = candidate.eligible ? "eligible" : `not eligible: ${candidate.reason ?? "?"}`;
  const raw = `${candidate.name}: offset ${candidate.offset} (${candidate.behindBestBytes} bytes behind the best), ${heard}, priority ${candidate.priority} — ${status}`;
  const mark = candidate.name === chosen ? " ← *new master*" : "";
  const item = bulletItem(candidate.eligible ? "• " : ":no_entry_sign: ", raw, 400);
  return { ...item, text: `${item.text}${mark}` };
}

export function stepsPart(id: string, priority: number, steps: readonly PlannedStep[]): Part {
  const items = steps.map(stepItem);
  return listPart({
    id,
    priority,
    title: `*Steps* (${steps.length}) — the exact commands each one runs`,
    items,
    itemMax: STEP_ITEM_MAX,
    more: (omitted) => {
      const first = steps[steps.length - omitted]?.index ?? steps.length - omitted + 1;
      const last = steps[steps.length - 1]?.index ?? steps.length;
      return `_… steps ${first}–${last} are not shown here — ${ATTACHED}._`;
    },
  });
}

/** A step with its commands: as many of them as keep the item under STEP_ITEM_MAX. */
function stepItem(step: PlannedStep): ListItem {
  const title = `*${step.index}. ${escapeMrkdwn(shorten(step.title, 300))}*${step.host ? ` — on ${inlineCode(shorten(step.host, 100))}` : ""}`;
  const risk = step.risk ? `:warning: ${escapeMrkdwn(shorten(step.risk, 500))}` : "";
  const commands = step.commands.map((command) => escapeCode(shorten(command, COMMAND_MAX)));
  const build = (shown: number): string => {
    const lines = [title];
    if (shown > 0) lines.push(fence(commands.slice(0, shown).join("\n")));
    if (shown < commands.length)
      lines.push(`_… ${commands.length - shown} more commands — ${ATTACHED}._`);
    if (risk) lines.push(risk);
    return lines.join("\n");
  };
  let shown = Math.min(commands.length, COMMANDS_SHOWN);
  while (shown > 0 && build(shown).length > STEP_ITEM_MAX) shown--;
  const cut =
    shown < commands.length ||
    step.title.length > 300 ||
    (step.risk?.length ?? 0) > 500 ||
    step.commands.slice(0, shown).some((command) => command.length > COMMAND_MAX);
  return { text: build(shown), fallback: `${step.index}. ${step.title}`, cut };
}

export function risksPart(id: string, priority: number, risks: readonly string[]): Part {
  return listPart({
    id,
    priority,
    title: "*Risks*",
    items: risks.map((risk) => bulletItem(":warning: ", risk, 800)),
    more: (omitted) => `_… ${omitted} more risks not shown — ${ATTACHED}._`,
  });
}

/** A list line of raw text behind a trusted prefix, shortened to `max` raw characters. */
export function bulletItem(prefix: string, raw: string, max: number): ListItem {
  return {
    text: `${prefix}${escapeMrkdwn(shorten(raw, max))}`,
    fallback: raw,
    cut: raw.length > max,
  };
}
