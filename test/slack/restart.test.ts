import { once } from "node:events";
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor } from "../harness/redis-server.js";
import type { TestTopology } from "../harness/topology.js";
import { dbsize, info } from "../integration/helpers.js";
import { messageButtons, messageText } from "../slack-double/index.js";
import { CHANNEL, USERS } from "./bot-harness.js";
import {
  click,
  fileJournal,
  lifecycleScope,
  resumeOffer,
  rootOfNewPlan,
  runEnded,
  slash,
} from "./lifecycle-setup.js";

const scope = lifecycleScope();

describe("restarts", () => {
  it("a pending approval survives a restart: a click on the old message still runs the plan", async () => {
    const { topology: t, double: d, m, keys } = await scope.lostMaster();
    const first = await scope.bot(t.inventoryPath, {}, { double: d });
    await first.command("failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    await scope.close(first);

    const second = await scope.bot(t.inventoryPath, {}, { double: d });
    await second.click(ts, ACTIONS.approve, USERS.bob);
    expect(await runEnded(d, ts)).toMatch(/Succeeded/);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
  });

  it("a bot killed with SIGKILL mid-run is found on restart; Resume (by an approver) finishes the run without redoing what was done", {
    timeout: 240_000,
  }, async () => {
    const gate = await scope.gate();
    const {
      topology: t,
      double: d,
      m,
      keys,
      stateDir,
    } = await scope.lostMaster({
      start: gate.start,
    });
    const {
      child: bot,
      port,
      url,
    } = await scope.process({
      double: d,
      inventoryPath: t.inventoryPath,
      stateDir,
    });
    await slash(url, d, "failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    await click(url, d, ts, ACTIONS.approve, USERS.bob);
    // Kill it while it waits on the spare's start command, which the copy step's command runs
    // right after the install (held at a gate).
    await waitFor(gate.reached, { what: "the spare's start command", timeoutMs: 30_000 });
    bot.kill("SIGKILL");
    await once(bot, "exit");
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
    // Cut off from the bot, the command on the spare still goes on and starts Redis there.
    await gate.open();
    await waitFor(
      async () =>
        info(m["machine-c"]!).then(
          () => true,
          () => false,
        ),
      {
        what: "Redis on the spare",
        timeoutMs: 30_000,
      },
    );

    await scope.process({ double: d, inventoryPath: t.inventoryPath, stateDir, port });
    const { offer, offerTs } = await resumeOffer(d, ts);
    expect(JSON.stringify(offer.args)).toMatch(/Copy the snapshot from machine-b to machine-c/);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Interrupted/);

    const resume = (user: typeof USERS.bob) => click(url, d, offerTs, ACTIONS.resume, user);
    expect((await resume(USERS.alice)).status).toBe(200);
    await waitFor(
      async () =>
        d.ephemerals.some(
          (message) => message.user === USERS.alice.id && /Not resumed/.test(message.text ?? ""),
        ),
      { what: "the requester's refusal", timeoutMs: 5_000 },
    );
    await resume(USERS.bob);
    expect(await runEnded(d, ts, "the resumed run")).toMatch(/Succeeded/);
    expect((await info(m["machine-c"]!)).role).toBe("master");
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-c"]!.ip);
    // The snapshot and copy steps were not redone: in the journal, the second attempt starts at
    // the interrupted copy step and finds it done (the copy installed and started on the spare).
    const records = await fileJournal(stateDir);
    expect(
      records
        .filter((record) => record.type === "run-started")
        .map((record) => [record.attempt, record.fromStep]),
    ).toEqual([
      [1, 1],
      [2, 3],
    ]);
    expect(
      records
        .filter((record) => record.type === "step-finished" && record.index === 2)
        .map((record) => (record as { status: string }).status),
    ).toEqual(["ok", "skipped"]);
    expect(
      records
        .filter((record) => record.type === "step-finished" && record.index === 3)
        .map((record) => (record as { status: string }).status),
    ).toEqual(["skipped"]);
    expect(messageButtons(d.message(CHANNEL, ts)!)).toEqual([]);
  });
});

describe("a torn journal", () => {
  it("a record torn by a crash mid-write is ignored: the bot starts, and the pending approval still works", async () => {
    const { topology: t, double: d, m, keys } = await scope.lostMaster();
    const first = await scope.bot(t.inventoryPath, {}, { double: d });
    await first.command("failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    await waitFor(
      async () => (await readFile(journalPath(t), "utf8")).includes('"type":"posted"'),
      { what: "the posted record", timeoutMs: 10_000 },
    );
    await scope.close(first);
    // What a crash in the middle of writing the next record leaves behind.
    await appendFile(
      journalPath(t),
      '5f3a9c1e {"type":"decided","runId":"fo-torn","cluster":"cache-t',
    );

    const second = await scope.bot(t.inventoryPath, {}, { double: d });
    await second.click(ts, ACTIONS.approve, USERS.bob);
    expect(await runEnded(d, ts)).toMatch(/Succeeded/);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
    expect(second.logLines.some((line) => /torn|incomplete/i.test(line))).toBe(true);
    // Later records are readable again: the torn fragment stayed on a line of its own.
    const lines = (await readFile(journalPath(t), "utf8")).trim().split("\n");
    expect(lines.at(-1)).toMatch(/"type":"run-finished"/);
  });
});

function journalPath(t: TestTopology): string {
  return join(t.root, "bot-state", "journal.log");
}
