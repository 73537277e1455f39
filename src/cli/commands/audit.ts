import { write } from "../io.js";
import type { CliSession } from "../session.js";
import { UsageError } from "../usage-error.js";

/** `audit [--since DATE]`: the journal as JSON lines, one record each, for an audit trail. */
export async function auditCommand(
  session: CliSession,
  flags: { since?: string; inventory?: string },
): Promise<number> {
  let since: number | undefined;
  if (flags.since !== undefined) {
    since = Date.parse(flags.since);
    if (Number.isNaN(since)) {
      throw new UsageError(
        `--since ${JSON.stringify(flags.since)} is not a date; use e.g. 2026-11-24 or 2026-11-24T09:00:00Z`,
      );
    }
  }
  const { journal } = await session.state(flags.inventory);
  const records = await journal.store.read(since !== undefined ? { since } : {});
  for (const record of records) write(session.io.stdout, JSON.stringify(record));
  return 0;
}
