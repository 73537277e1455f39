import Table from "cli-table3";
import { historyRows } from "../../state/history.js";
import { replay } from "../../state/replay.js";
import { openWatches, replayWatches } from "../../state/watches.js";
import { write } from "../io.js";
import { seconds } from "../render/run-text.js";
import { watchLine, watchText } from "../render/watch-text.js";
import type { CliSession } from "../session.js";

/** `history <cluster>`: recent runs from the journal, newest first. */
export async function historyCommand(
  session: CliSession,
  cluster: string,
  flags: { json?: boolean; limit?: number; inventory?: string },
): Promise<number> {
  const { engine } = await session.app(flags.inventory);
  engine.cluster(cluster);
  const { journal } = await session.state(flags.inventory);
  const records = await journal.store.read();
  const rows = historyRows(replay(records).values(), cluster, flags.limit ?? 20);
  const watches = openWatches(replayWatches(records)).filter((watch) => watch.cluster === cluster);
  if (flags.json) {
    for (const row of rows) write(session.io.stdout, JSON.stringify({ type: "run", ...row }));
    for (const watch of watches) write(session.io.stdout, JSON.stringify(watchLine(watch)));
    return 0;
  }
  for (const watch of watches) write(session.io.stdout, watchText(watch));
  if (rows.length === 0) {
    write(session.io.stdout, `No failover of ${cluster} is recorded in the journal.`);
    return 0;
  }
  const table = new Table({
    head: ["requested (UTC)", "mode", "outcome", "requester", "approver", "duration", "run"],
    style: { head: [], border: [] },
  });
  for (const row of rows) {
    table.push([
      new Date(row.requestedAt).toISOString().replace("T", " ").slice(0, 19),
      row.mode,
      row.outcome +
        (row.newMaster ? ` → ${row.newMaster}` : row.failedStep ? ` at ${row.failedStep}` : ""),
      row.requester,
      row.approver ?? "-",
      row.durationMs !== undefined ? seconds(row.durationMs) : "-",
      row.runId,
    ]);
  }
  write(session.io.stdout, table.toString());
  return 0;
}
