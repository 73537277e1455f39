import { seconds } from "../../format/time-text.js";
import type { HistoryRow } from "../../state/history.js";
import type { MessageContent } from "../types.js";
import { header, section } from "./build.js";
import { escapeMrkdwn, mention, slackDate } from "./escape.js";

/** `/redis history <cluster>`: recent runs, one line each. */
export function historyMessage(cluster: string, rows: HistoryRow[]): MessageContent {
  if (rows.length === 0) {
    return {
      text: `No failover of ${cluster} is recorded.`,
      blocks: [
        section(
          "history_empty",
          `No failover of \`${escapeMrkdwn(cluster)}\` is recorded in the journal.`,
        ),
      ],
    };
  }
  const lines = rows.map((row) => {
    const who = row.requester.startsWith("cli:")
      ? escapeMrkdwn(row.requester)
      : mention(row.requester);
    const approver = row.approver
      ? row.approver.startsWith("cli:")
        ? escapeMrkdwn(row.approver)
        : mention(row.approver)
      : "—";
    const duration = row.durationMs !== undefined ? ` in ${seconds(row.durationMs)}` : "";
    const detail = row.newMaster
      ? ` → ${escapeMrkdwn(row.newMaster)}`
      : row.failedStep
        ? ` at ${escapeMrkdwn(row.failedStep)}`
        : "";
    return `${slackDate(row.requestedAt, "{date_short} {time}")} · *${row.mode}* · ${row.outcome}${detail}${duration} · asked by ${who}, approved by ${approver} · \`${row.runId}\``;
  });
  const chunks: string[] = [];
  for (const line of lines) {
    const last = chunks.at(-1);
    if (last !== undefined && last.length + line.length + 1 <= 2900)
      chunks[chunks.length - 1] = `${last}\n${line}`;
    else chunks.push(line);
  }
  return {
    text: `${rows.length} recent failover runs of ${cluster}`,
    blocks: [
      header("history_header", `Failover history: ${cluster}`),
      ...chunks.slice(0, 20).map((chunk, i) => section(`history_${i}`, chunk)),
    ],
  };
}
