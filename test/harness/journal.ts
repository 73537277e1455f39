import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { JournalRecord } from "../../src/state/types.js";
import type { RedisServer } from "./redis-server.js";

/** Every record of a file journal (STATE_DIR/journal.log); none while the file is missing. */
export async function fileJournal(stateDir: string): Promise<JournalRecord[]> {
  const text = await readFile(join(stateDir, "journal.log"), "utf8").catch(() => "");
  return (
    text
      .split("\n")
      .filter((line) => line.length > 9)
      // Each line is a checksum of 8 hex digits, a space, and the record.
      .map((line) => JSON.parse(line.slice(9)) as JournalRecord)
  );
}

/** Every record of the control-plane Redis's journal stream. */
export async function redisJournal(server: RedisServer): Promise<JournalRecord[]> {
  const redis = new Redis({ host: server.host, port: server.port });
  try {
    const entries = await redis.xrange("rfb:journal", "-", "+");
    return entries.map(([, fields]) => JSON.parse(fields[1] as string) as JournalRecord);
  } finally {
    redis.disconnect();
  }
}
