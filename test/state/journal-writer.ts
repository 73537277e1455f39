/**
 * A second OS process appending to a file journal: `node --import tsx journal-writer.ts <dir>
 * <prefix> <count> <startAt>`. Both processes wait until startAt (unix ms), so their appends
 * overlap despite different start-up times; appends are started all at once, so the in-process queue and the O_APPEND
 * writes of both processes are exercised together.
 */
import { pino } from "pino";
import { FileJournal } from "../../src/state/file-journal.js";
import { requested } from "./helpers.js";

const [dir = "", prefix = "", count = "0", startAt = "0"] = process.argv.slice(2);
const journal = await FileJournal.open(dir, pino({ level: "silent" }));
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
// A few KB per line, so that an interleaving of two writes could not go unnoticed.
const padding = `${prefix}:`.repeat(700);
await Promise.all(
  Array.from({ length: Number(count) }, (_, n) =>
    journal.append(requested(`${prefix}-${n}`, n, { output: padding })),
  ),
);
await journal.close();
