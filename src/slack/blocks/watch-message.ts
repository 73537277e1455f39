import type { ReturnedMaster } from "../../engine/returned-master.js";
import type { AnsweringProbe } from "../../runs/watch.js";
import type { WatchHistory } from "../../state/watches.js";
import type { MessageContent } from "../types.js";
import { actions, button, section } from "./build.js";
import { escapeMrkdwn, inlineCode } from "./escape.js";

/** Action id of a watch's Fence button (its label, "Fence", is a contract). */
export const FENCE_ACTION = "failover_fence";

const ordinal = (n: number) => (n === 1 ? "" : ` (return ${n} since the run)`);

/** The watched old master answers again: its role, keys, divergence, and the Fence button. */
export function watchReturnedMessage(
  watch: WatchHistory,
  probe: AnsweringProbe,
  n: number,
): MessageContent {
  const host = escapeMrkdwn(watch.host.name);
  const current = escapeMrkdwn(watch.newMaster.name);
  const returned = probe.returned;
  const lines = returned
    ? [
        `• *Role*: ${roleText(returned)}`,
        `• *Keys*: ${returned.keys} (offset ${returned.offset}; ${current} is at ${returned.current.offset})`,
        `• *Diverged writes*: ${divergenceText(returned)}`,
      ]
    : [
        `• It could not be compared with ${current}: ${escapeMrkdwn(probe.problem ?? "unknown error")}`,
      ];
  const intro = `:rotating_light: *${host}, the old master, answers again*${ordinal(n)}. It is not fenced: clients that still know it may write where nobody reads.`;
  const fence = `*Fence* makes it a replica of ${current}, as ${inlineCode(`redis-failover fence ${watch.cluster} --host ${watch.host.name}`)} does; if it holds writes ${current} lacks, its dataset is kept on its disk as ${inlineCode("<dbfilename>.before-<run id>")} first. Any approver of the cluster may press it.`;
  return {
    text: `${watch.host.name} (the old master) answers again${ordinal(n)}: ${returned?.summary ?? probe.problem ?? ""}. An approver can fence it.`,
    blocks: [
      section("watch_returned", `${intro}\n${lines.join("\n")}`),
      section("watch_fence_help", fence),
      actions("watch_actions", [
        button({
          actionId: FENCE_ACTION,
          label: "Fence",
          value: watch.runId,
          style: "danger",
          confirm: {
            title: `Fence ${watch.host.name}?`,
            text: `${watch.host.name} becomes a replica of ${watch.newMaster.name} and loads its data; writes only it holds are kept in a file on its disk first.`,
            confirm: "Fence",
            deny: "Cancel",
            style: "danger",
          },
        }),
      ]),
    ],
  };
}

export function watchSilentMessage(watch: WatchHistory): MessageContent {
  const text = `${watch.host.name} stopped answering again; the bot keeps watching it and says here when it is back.`;
  return { text, blocks: [section("watch_silent", `:zzz: ${escapeMrkdwn(text)}`)] };
}

export function watchEndedMessage(
  watch: WatchHistory & { ended: NonNullable<WatchHistory["ended"]> },
): MessageContent {
  const text = `Watch of ${watch.host.name} ended: ${watch.ended.detail}.`;
  return { text, blocks: [section("watch_ended", `:white_check_mark: ${escapeMrkdwn(text)}`)] };
}

function roleText(returned: ReturnedMaster): string {
  if (returned.role === "replica")
    return `replica of ${escapeMrkdwn(`${returned.follows?.host}:${returned.follows?.port}`)} (not of the current master)`;
  return returned.role === "master" ? "*master* (split brain)" : "unknown";
}

function divergenceText(returned: ReturnedMaster): string {
  const d = returned.divergence;
  const current = escapeMrkdwn(returned.current.name);
  if (d.diverged === true)
    return `*yes*: ${d.bytes} bytes of writes ${current} lacks (${escapeMrkdwn(d.reason)})`;
  if (d.diverged === "unknown") return `*maybe*: ${escapeMrkdwn(d.reason)}`;
  return `no (${escapeMrkdwn(d.reason)})`;
}

/** A return message once its watch ended: the same facts, no Fence button, and why. */
export function withoutFence(content: MessageContent, detail: string): MessageContent {
  return {
    text: content.text,
    blocks: [
      ...(content.blocks ?? []).filter((block) => block.block_id !== "watch_actions"),
      section("watch_closed", `:white_check_mark: Nothing left to fence: ${escapeMrkdwn(detail)}.`),
    ],
  };
}
