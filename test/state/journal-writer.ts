/**
 * A second OS process appending to a file journal: `node --import tsx journal-writer.ts <dir>
 * <prefix> <count> <peers>`. Once its journal is open it marks itself ready (a file in <dir>) and
 * waits until every peer (comma-separated prefixes) is ready too, so the appends of all of them
 * overlap whatever their start-up times; appends are started all at once, so the in-process
 * queue and the O_APPEND writes of the processes are exercised together.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { FileJournal } from "../../src/state/file-journal.js";
import { requested } from "./helpers.js";

const [dir = "", prefix = "", count = "0", peers = ""] = process.argv.slice(2);
const journal = await FileJournal.open(dir, pino({ level: "silent" }));
const ready = (name: string) => join(dir, `ready-${name}`);
writeFileSync(ready(prefix), "");
while (!peers.split(",").every((peer) => existsSync(ready(peer)))) await sleep(2);
// A few KB per line, so that an interleaving of two writes could not go unnoticed.
const padding = `${prefix}:`.repeat(700);
await Promise.all(
  Array.from({ length: Number(count) }, (_, n) =>
    journal.append(requested(`${prefix}-${n}`, n, { output: padding })),
  ),
);
await journal.close();
