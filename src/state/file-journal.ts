import { constants } from "node:fs";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import type { Logger } from "../log/logger.js";
import type { JournalRecord, JournalStore } from "./types.js";

const NEWLINE = 0x0a;

/** One journal line: `<crc32 of the JSON, 8 hex digits> <JSON>\n`. */
export function encodeJournalLine(record: JournalRecord): Buffer {
  const json = Buffer.from(JSON.stringify(record), "utf8");
  const checksum = crc32(json).toString(16).padStart(8, "0");
  return Buffer.concat([Buffer.from(`${checksum} `, "ascii"), json, Buffer.from("\n")]);
}

/** The record on a line (without its "\n"), or why it does not verify. */
export function decodeJournalLine(line: Buffer): JournalRecord | { damaged: string } {
  if (line.length < 10 || line[8] !== 0x20) return { damaged: "no checksum" };
  const checksum = line.subarray(0, 8).toString("ascii");
  if (!/^[0-9a-f]{8}$/.test(checksum)) return { damaged: "no checksum" };
  const json = line.subarray(9);
  if (crc32(json) !== Number.parseInt(checksum, 16)) return { damaged: "checksum mismatch" };
  try {
    const value: unknown = JSON.parse(json.toString("utf8"));
    if (isRecord(value)) return value;
  } catch {
    // reported below
  }
  return { damaged: "not a journal record" };
}

function isRecord(value: unknown): value is JournalRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.type === "string" &&
    typeof record.runId === "string" &&
    typeof record.at === "number"
  );
}

export function matchesFilter(
  record: JournalRecord,
  filter: { runId?: string; since?: number } | undefined,
): boolean {
  if (filter?.runId !== undefined && record.runId !== filter.runId) return false;
  if (filter?.since !== undefined && record.at < filter.since) return false;
  return true;
}

/**
 * The journal as one append-only file, `journal.log`, shared by the bot and the CLI: each
 * record is one whole line written with a single write() on an O_APPEND descriptor, so lines
 * from two processes never interleave, then fdatasync'ed before append resolves.
 */
export class FileJournal implements JournalStore {
  readonly path: string;
  readonly #file: FileHandle;
  readonly #log: Logger;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Parsed so far: records, and where in the file parsing stopped (after a newline). */
  #records: JournalRecord[] = [];
  #offset = 0;
  #lineNumber = 0;
  #reportedTail = -1;
  #reading: Promise<void> | undefined;

  private constructor(path: string, file: FileHandle, log: Logger) {
    this.path = path;
    this.#file = file;
    this.#log = log;
  }

  static async open(dir: string, log: Logger): Promise<FileJournal> {
    const absolute = resolve(dir);
    await mkdir(absolute, { recursive: true, mode: 0o700 });
    const path = join(absolute, "journal.log");
    // Read-write only to check the last byte; O_APPEND sends every write to the end.
    const flags = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT;
    const file = await open(path, flags, 0o600);
    try {
      // A newly created file must still be there after a crash: sync its directory entry.
      const directory = await open(absolute, constants.O_RDONLY);
      await directory.sync().finally(() => directory.close());
    } catch (error) {
      await file.close();
      throw error;
    }
    return new FileJournal(path, file, log);
  }

  append(record: JournalRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`journal ${this.path} is closed`));
    const line = encodeJournalLine(record);
    const result = this.#queue.then(() => this.#write(line));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #write(line: Buffer): Promise<void> {
    // A torn last line (a crash mid-write, by this process or the other one) gets its "\n"
    // first, in the same write, so the fragment stays an isolated line that read() skips.
    const data = (await this.#endsWithNewline()) ? line : Buffer.concat([Buffer.from("\n"), line]);
    const { bytesWritten } = await this.#file.write(data, 0, data.length, null);
    if (bytesWritten !== data.length) {
      throw new Error(
        `short write to ${this.path} (${bytesWritten} of ${data.length} bytes; disk full?)`,
      );
    }
    await this.#file.datasync();
  }

  async #endsWithNewline(): Promise<boolean> {
    const { size } = await this.#file.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await this.#file.read(last, 0, 1, size - 1);
    return last[0] === NEWLINE;
  }

  /**
   * Every verifiable record so far. Records are parsed once: each read parses only the bytes
   * appended since the last one (by this process or another), so reads stay cheap as the
   * journal grows.
   */
  async read(filter?: { runId?: string; since?: number }): Promise<JournalRecord[]> {
    this.#reading ??= this.#catchUp().finally(() => {
      this.#reading = undefined;
    });
    await this.#reading;
    return this.#records.filter((record) => matchesFilter(record, filter));
  }

  async #catchUp(): Promise<void> {
    const { size } = await this.#file.stat();
    if (size < this.#offset) {
      // Truncated or replaced under us: start over.
      this.#offset = 0;
      this.#lineNumber = 0;
      this.#records = [];
    }
    if (size === this.#offset) return;
    const content = Buffer.alloc(size - this.#offset);
    const { bytesRead } = await this.#file.read(content, 0, content.length, this.#offset);
    const damaged: string[] = [];
    let start = 0;
    for (;;) {
      const end = content.indexOf(NEWLINE, start);
      if (end === -1 || end >= bytesRead) break;
      this.#lineNumber += 1;
      const line = content.subarray(start, end);
      start = end + 1;
      if (line.length === 0) continue;
      const decoded = decodeJournalLine(line);
      if ("damaged" in decoded) damaged.push(`${this.#lineNumber} (${decoded.damaged})`);
      else this.#records.push(decoded);
    }
    this.#offset += start;
    // A last line without its newline: torn by a crash, or another process still writing it.
    // It stays unread until completed, and is reported once per place it is seen.
    if (start < bytesRead && this.#reportedTail !== this.#offset) {
      this.#reportedTail = this.#offset;
      damaged.push(`${this.#lineNumber + 1} (incomplete: torn by a crash, or still being written)`);
    }
    if (damaged.length > 0) {
      this.#log.warn(
        { journal: this.path, lines: damaged },
        `journal ${this.path}: skipped ${damaged.length} damaged line(s): ${damaged.join(", ")}`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#file.close();
  }
}
