import { lastSaveText } from "../../format/time-text.js";
import type { WatchHistory } from "../../state/watches.js";
import type { Assessment, MasterState } from "../../topology/assess.js";
import { describeSentinels, roleText } from "../../topology/describe.js";
import type { NodeState, Topology } from "../../topology/types.js";
import type { MessageContent } from "../types.js";
import { context, header, section } from "./build.js";
import { escapeMrkdwn, fallbackText, inlineCode, slackDate } from "./escape.js";
import { fitParts, type Part } from "./fit.js";
import { DEFAULT_FIT, type FitLimits } from "./limits.js";
import { fixedPart, type ListItem, listPart } from "./parts.js";
import { bulletItem } from "./plan-parts.js";
import { shorten } from "./text-fit.js";

export const STATUS_BLOCKS = {
  header: "st_header",
  master: "st_master",
  problems: "st_problems",
  servers: "st_servers",
  evidence: "st_evidence",
  sentinels: "st_sentinels",
  watches: "st_watches",
  cut: "st_cut",
} as const;

const MASTER_STATE: Record<MasterState, string> = {
  up: ":large_green_circle: *up* — it answers the bot as a master",
  down: ":red_circle: *down* — the bot and every replica have lost it",
  unconfirmed:
    ":large_yellow_circle: *unconfirmed* — the bot cannot confirm it, but not every vantage point agrees it is down",
};

/** `/redis status`: each server's role, link, offset, lag and last save; the master's state and why. */
export function statusMessage(
  topology: Topology,
  assessment: Assessment,
  limits: FitLimits = DEFAULT_FIT,
  /** The cluster's open watches (old masters runs could not fence), from the journal. */
  watches: readonly WatchHistory[] = [],
): MessageContent {
  const master = assessment.master;
  const masterLine = master
    ? `*Master:* ${escapeMrkdwn(master.name ?? "not in the inventory")} (${escapeMrkdwn(`${master.host}:${master.port}`)}) — ${MASTER_STATE[master.state]}`
    : ":question: *No master identified.*";
  const masterNode = topology.nodes.find((node) => node.name === master?.name);
  const parts: Part[] = [
    fixedPart(0, [header(STATUS_BLOCKS.header, `Redis status: ${topology.cluster}`)]),
    fixedPart(0, [
      section(
        STATUS_BLOCKS.master,
        `${masterLine}\nObserved ${slackDate(topology.observedAt, "{date_short_pretty} {time_secs}")} · ${topology.nodes.length} servers`,
      ),
    ]),
    listPart({
      id: STATUS_BLOCKS.problems,
      priority: 1,
      title: "*Problems* (nothing automatic is safe until they are resolved)",
      items: assessment.problems.map((problem) => bulletItem(":warning: ", problem, 800)),
      more: (omitted) => `_… ${omitted} more problems not shown._`,
    }),
    listPart({
      id: STATUS_BLOCKS.servers,
      priority: 2,
      title: "*Servers*",
      items: topology.nodes.map((node) => serverItem(node, topology, masterNode)),
      more: (omitted) =>
        `_… ${omitted} more servers not shown — run \`redis-failover status\` for the full table._`,
    }),
    listPart({
      id: STATUS_BLOCKS.evidence,
      priority: 3,
      title: "*Evidence*",
      items: assessment.evidence.map((line) => bulletItem("• ", line, 400)),
      more: (omitted) => `_… ${omitted} more lines of evidence not shown._`,
    }),
    listPart({
      id: STATUS_BLOCKS.sentinels,
      priority: 2,
      title: `*Sentinels*${topology.sentinel ? ` (${escapeMrkdwn(topology.sentinel.masterName)})` : ""}`,
      items: (topology.sentinel ? describeSentinels(topology.sentinel) : []).map((line) =>
        bulletItem(line.startsWith("DISAGREE") ? ":warning: " : "• ", line, 600),
      ),
      more: (omitted) => `_… ${omitted} more lines not shown — run \`redis-failover status\`._`,
    }),
    listPart({
      id: STATUS_BLOCKS.watches,
      priority: 1,
      title:
        "*Watched old masters* (runs could not fence them; the bot says in the run's thread when they answer)",
      items: watches.map((watch) =>
        bulletItem(watch.answering ? ":warning: " : ":eyes: ", watchText(watch), 400),
      ),
      more: (omitted) => `_… ${omitted} more watches not shown — run \`redis-failover status\`._`,
    }),
    {
      ...fixedPart(0, [context(STATUS_BLOCKS.cut, [":scissors: Shortened to fit Slack."])]),
      whenCut: true,
    },
  ];
  const fitted = fitParts(parts, limits);
  const down = topology.nodes.filter((node) => !node.reachable).length;
  const text = fallbackText(
    [
      `Redis status for ${topology.cluster}: `,
      master
        ? `master ${master.name ?? `${master.host}:${master.port}`} ${master.state}`
        : "no master identified",
      `; ${topology.nodes.length} servers${down > 0 ? `, ${down} not answering` : ""}`,
      assessment.problems.length > 0 ? `; ${assessment.problems.length} problem(s)` : "",
      watches.length > 0 ? `; watching ${watches.map((watch) => watch.host.name).join(", ")}` : "",
    ].join(""),
  );
  return { text, blocks: fitted.blocks };
}

function watchText(watch: WatchHistory): string {
  const now = watch.answering
    ? `answers again and is NOT fenced (press Fence in the run's thread, or \`redis-failover fence ${watch.cluster} --host ${watch.host.name}\`)`
    : "does not answer yet";
  return `${watch.host.name} since ${new Date(watch.startedAt).toISOString()} (run ${watch.runId}): ${now}`;
}

function serverItem(node: NodeState, topology: Topology, master: NodeState | undefined): ListItem {
  const name = `*${escapeMrkdwn(shorten(node.name, 100))}* ${inlineCode(shorten(`${node.host}:${node.port}`, 120))}`;
  if (!node.reachable) {
    const item = bulletItem("", `not answering — ${node.error ?? "no reply"}`, 300);
    return { ...item, text: `:red_circle: ${name} — ${item.text}` };
  }
  const facts: string[] = [roleText(node)];
  if (node.loading) facts.push("LOADING");
  if (node.role === "master") facts.push(`${node.replicas.length} replica(s)`);
  if (node.offset !== undefined) {
    const behind =
      node.role === "replica" && master?.reachable && master.offset !== undefined
        ? ` (${Math.max(0, master.offset - node.offset)} bytes behind)`
        : "";
    facts.push(`offset ${node.offset}${behind}`);
  }
  if (node.role === "replica") {
    const attached = master?.replicas.find((replica) => replica.hostName === node.name);
    const lag = attached?.lag ?? node.master?.lastIoSecondsAgo;
    if (lag !== undefined) facts.push(`lag ${lag} s`);
  }
  if (node.keys !== undefined) facts.push(`${node.keys} keys`);
  facts.push(`last save ${lastSaveText(node.lastSaveTime, topology.observedAt)}`);
  if (node.lastBgsaveStatus && node.lastBgsaveStatus !== "ok")
    facts.push(`last bgsave ${node.lastBgsaveStatus}`);
  const emoji = node.role === "master" ? ":large_blue_circle:" : ":white_circle:";
  const item = bulletItem("", facts.join(" · "), 600);
  return { ...item, text: `${emoji} ${name} — ${item.text}` };
}
