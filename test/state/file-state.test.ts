import { execFile } from "node:child_process";
import { appendFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStateBackend } from "../../src/state/backend.js";
import { decodeJournalLine, encodeJournalLine, FileJournal } from "../../src/state/file-journal.js";
import { FileDecisions, FileLocks } from "../../src/state/file-locks.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";
import { stateContract } from "./contract.js";
import { captureLog, eventually, requested, warnings } from "./helpers.js";

const run = promisify(execFile);

let root: TempRoot;
let tests = 0;
beforeAll(async () => {
  root = await makeTempRoot("file-state");
});
afterAll(async () => {
  await root.cleanup();
});

/** A fresh state dir under the temp root. */
function freshDir(): string {
  tests += 1;
  return join(root.path, `state-${tests}`);
}

let contractDir = "";
stateContract("file backend", {
  async reset() {
    contractDir = freshDir();
  },
  open: () =>
    openStateBackend({
      stateDir: contractDir,
      env: {},
      log: captureLog().log,
      managedEndpoints: [],
    }),
});

describe("file journal", () => {
  it("creates the dir (0700) and journal.log (0600), and describes itself by absolute path", async () => {
    const dir = freshDir();
    const backend = await openStateBackend({
      stateDir: dir,
      env: {},
      log: captureLog().log,
      managedEndpoints: [],
    });
    expect(backend.description).toBe(`file:${dir}`);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "journal.log"))).mode & 0o777).toBe(0o600);
    await backend.close();
  });

  it("writes one checksummed line per record; once append resolves, the line is in the file", async () => {
    const journal = await FileJournal.open(freshDir(), captureLog().log);
    const record = requested("r1", 1);
    await journal.append(record);
    const content = await readFile(journal.path, "utf8");
    expect(content).toBe(encodeJournalLine(record).toString("utf8"));
    expect(content).toMatch(/^[0-9a-f]{8} \{.*\}\n$/);
    expect(decodeJournalLine(Buffer.from(content.trimEnd()))).toEqual(record);
    await journal.close();
    await expect(journal.append(record)).rejects.toThrow(/closed/);
  });

  it("ignores a torn last line (a crash mid-write), and the next append still lands readable", async () => {
    const { log, lines } = captureLog();
    const dir = freshDir();
    const first = await FileJournal.open(dir, log);
    await first.append(requested("r1", 1));
    await first.append(requested("r2", 2));
    await first.close();
    const torn = encodeJournalLine(requested("r3", 3));
    await appendFile(first.path, torn.subarray(0, Math.floor(torn.length / 2)));

    const journal = await FileJournal.open(dir, log);
    expect((await journal.read()).map((record) => record.runId)).toEqual(["r1", "r2"]);
    expect(warnings(lines)).toEqual([
      expect.stringMatching(/skipped 1 damaged line\(s\): 3 \(incomplete: torn by a crash/),
    ]);

    await journal.append(requested("r4", 4));
    expect((await journal.read()).map((record) => record.runId)).toEqual(["r1", "r2", "r4"]);
    expect(warnings(lines)[1]).toMatch(/skipped 1 damaged line\(s\): 3 \(checksum mismatch\)/);
    const fileLines = (await readFile(journal.path, "utf8")).split("\n");
    expect(fileLines).toHaveLength(5); // r1, r2, the fragment, r4, and "" after the last "\n"
    expect(fileLines[3]).toBe(encodeJournalLine(requested("r4", 4)).toString().trimEnd());
    await journal.close();
  });

  it("isolates a fragment written by another process after this one opened the file", async () => {
    const journal = await FileJournal.open(freshDir(), captureLog().log);
    await journal.append(requested("r1", 1));
    await appendFile(journal.path, '0badc0de {"type":"requ');
    await journal.append(requested("r2", 2));
    expect((await journal.read()).map((record) => record.runId)).toEqual(["r1", "r2"]);
    await journal.close();
  });

  it("skips and reports a corrupted middle line, keeping the records around it", async () => {
    const { log, lines } = captureLog();
    const journal = await FileJournal.open(freshDir(), log);
    for (const runId of ["r1", "r2", "r3"]) await journal.append(requested(runId, 1));
    const content = await readFile(journal.path);
    const secondLine = content.indexOf("\n") + 1;
    const flipped = secondLine + 30; // inside the JSON of line 2
    content[flipped] = (content[flipped] ?? 0) ^ 0x01;
    await writeFile(journal.path, content);

    expect((await journal.read()).map((record) => record.runId)).toEqual(["r1", "r3"]);
    expect(warnings(lines)).toEqual([
      expect.stringMatching(/skipped 1 damaged line\(s\): 2 \(checksum mismatch\)/),
    ]);
    const [warning] = lines.filter((line) => line.level === 40);
    expect(warning).toMatchObject({ journal: journal.path, lines: ["2 (checksum mismatch)"] });
    await journal.close();
  });

  it("reports lines that are not records at all, once per read", async () => {
    const { log, lines } = captureLog();
    const journal = await FileJournal.open(freshDir(), log);
    await appendFile(journal.path, "garbage\n00000000 {}\n");
    await journal.append(requested("r1", 1));
    expect(await journal.read()).toHaveLength(1);
    expect(warnings(lines)).toEqual([
      expect.stringMatching(
        /skipped 2 damaged line\(s\): 1 \(no checksum\), 2 \(checksum mismatch\)/,
      ),
    ]);
    await journal.close();
  });

  it("two OS processes appending concurrently produce only whole, verifiable lines", async () => {
    const dir = freshDir();
    const writer = join(import.meta.dirname, "journal-writer.ts");
    const count = 150;
    await Promise.all(
      ["a", "b"].map((prefix) =>
        run(process.execPath, ["--import", "tsx", writer, dir, prefix, String(count), "a,b"], {
          timeout: 60_000,
        }),
      ),
    );
    const content = await readFile(join(dir, "journal.log"));
    const allLines = content.toString("utf8").split("\n");
    expect(allLines.pop()).toBe(""); // ends with "\n"
    // A process that looks at the last byte while the other one's write is in progress sees a
    // partial line and puts a "\n" before its own: a harmless empty line, which read() skips.
    const fileLines = allLines.filter((line) => line !== "");
    expect(fileLines).toHaveLength(2 * count);
    const runIds = fileLines.map((line) => {
      const decoded = decodeJournalLine(Buffer.from(line, "utf8"));
      if ("damaged" in decoded) throw new Error(`damaged line: ${line.slice(0, 80)}...`);
      return decoded.runId;
    });
    expect(new Set(runIds).size).toBe(2 * count);
    // The two processes did write at the same time.
    const switches = runIds.filter((id, n) => n > 0 && id[0] !== runIds[n - 1]?.[0]).length;
    expect(switches).toBeGreaterThan(1);
    for (const prefix of ["a", "b"]) {
      // Each process's appends stay in the order it made them.
      expect(runIds.filter((id) => id.startsWith(`${prefix}-`))).toEqual(
        Array.from({ length: count }, (_, n) => `${prefix}-${n}`),
      );
    }
  });
});

describe("file locks", () => {
  const owner = { runId: "run-a", instance: "bot-1" };

  it("persists the fencing token: a new instance on the same dir continues above it", async () => {
    const dir = freshDir();
    const log = captureLog().log;
    const tokens: number[] = [];
    for (let n = 0; n < 3; n++) {
      const locks = await FileLocks.open(dir, log);
      const result = await locks.acquire("cache-eu", owner, 30_000);
      if (!result.ok) throw new Error("expected to acquire");
      tokens.push(result.lease.fencingToken);
      await result.lease.release();
    }
    expect(tokens).toEqual([1, 2, 3]);
    expect(await readFile(join(dir, "locks", "cache-eu.token"), "utf8")).toBe("3\n");
  });

  it("refuses to hand out tokens when the token file is damaged, rather than start again from 1", async () => {
    const dir = freshDir();
    const locks = await FileLocks.open(dir, captureLog().log);
    await writeFile(join(dir, "locks", "cache-eu.token"), "garbage");
    await expect(locks.acquire("cache-eu", owner, 30_000)).rejects.toThrow(
      /cache-eu\.token holds no fencing token/,
    );
  });

  it("takes over a lock file that is not readable JSON (a crash while the machine went down)", async () => {
    const dir = freshDir();
    const locks = await FileLocks.open(dir, captureLog().log);
    await writeFile(join(dir, "locks", "cache-eu.json"), '{"runId":"x",');
    expect(await locks.holder("cache-eu")).toBeUndefined();
    const result = await locks.acquire("cache-eu", owner, 30_000);
    if (!result.ok) throw new Error("expected to acquire");
    expect(await locks.holder("cache-eu")).toMatchObject(owner);
    await result.lease.release();
  });

  it("a token newer than the token file (a crash right after locking) is still exceeded", async () => {
    const dir = freshDir();
    const locks = await FileLocks.open(dir, captureLog().log);
    const expired = {
      runId: "old",
      instance: "bot-0",
      fencingToken: 41,
      expiresAt: Date.now() - 1,
    };
    await writeFile(join(dir, "locks", "cache-eu.json"), JSON.stringify(expired));
    await writeFile(join(dir, "locks", "cache-eu.token"), "7\n");
    const result = await locks.acquire("cache-eu", owner, 30_000);
    if (!result.ok) throw new Error("expected to acquire");
    expect(result.lease.fencingToken).toBe(42);
    await result.lease.release();
  });

  it("a lease whose file someone else replaced reports lost and stops renewing; release leaves their file", async () => {
    const dir = freshDir();
    const locks = await FileLocks.open(dir, captureLog().log);
    const result = await locks.acquire("odd/name..", owner, 300);
    if (!result.ok) throw new Error("expected to acquire");
    // Names are escaped into one file inside locks/.
    const path = join(dir, "locks", "odd%2fname%2e%2e.json");
    const intruder = JSON.stringify({
      runId: "run-x",
      instance: "cli",
      fencingToken: 99,
      expiresAt: Date.now() + 60_000,
    });
    await writeFile(path, intruder);
    await eventually(() => result.lease.lost.aborted, "the lease to report lost");
    expect(String(result.lease.lost.reason)).toMatch(/someone else holds the lock now/);
    await result.lease.release();
    expect(await readFile(path, "utf8")).toBe(intruder);
  });
});

describe("file decisions", () => {
  it("a decision lasts until it is older than its ttl and the state is opened again", async () => {
    const dir = freshDir();
    const log = captureLog().log;
    const decisions = await FileDecisions.open(dir, log);
    expect(await decisions.claim("short", "a", 1)).toBe(true);
    expect(await decisions.claim("long", "a", 60_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await decisions.claim("short", "b", 1)).toBe(false); // ttl only acts at open

    const reopened = await FileDecisions.open(dir, log);
    expect(await reopened.claim("short", "c", 60_000)).toBe(true);
    expect(await reopened.claim("long", "c", 60_000)).toBe(false);
  });
});
