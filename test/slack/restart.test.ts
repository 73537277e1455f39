import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { freePort } from "../harness/addresses.js";
import { waitFor } from "../harness/redis-server.js";
import type { MachineSpec, TestTopology } from "../harness/topology.js";
import { dbsize, info, lostMasterTopology } from "../integration/helpers.js";
import {
  blockActionsBody,
  clickButton,
  messageButtons,
  messageText,
  postSigned,
  type SlackDouble,
  slashCommandBody,
  startSlackDouble,
} from "../slack-double/index.js";
import {
  CHANNEL,
  type RunningBot,
  SIGNING_SECRET,
  startBot,
  startBotProcess,
  USERS,
} from "./bot-harness.js";

let topology: TestTopology | undefined;
let double: SlackDouble | undefined;
const bots: RunningBot[] = [];
const processes: ChildProcess[] = [];
afterEach(async () => {
  for (const child of processes.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const bot of bots.splice(0)) await bot.close().catch(() => undefined);
  await double?.close();
  await topology?.close();
  double = undefined;
  topology = undefined;
});

async function lostMaster(spare: Partial<MachineSpec> = {}) {
  const lost = await lostMasterTopology(spare);
  topology = lost.topology;
  const { m, keys } = lost;
  double = await startSlackDouble({
    channels: [{ id: CHANNEL, name: "incident" }],
    usergroups: { S0ONCALL: [USERS.bob.id] },
  });
  return { m, keys, topology, double };
}

async function rootOfNewPlan(d: SlackDouble): Promise<string> {
  const call = await d.waitForCall(
    "chat.postMessage",
    (candidate) => !candidate.args.thread_ts,
    20_000,
  );
  return String((call.response.body as { ts: string }).ts);
}

async function botProcess(t: TestTopology, d: SlackDouble, port: number): Promise<ChildProcess> {
  const child = await startBotProcess({
    double: d,
    inventoryPath: t.inventoryPath,
    port,
    stateDir: join(t.root, "bot-state"),
  });
  processes.push(child);
  return child;
}

describe("restarts", () => {
  it("a pending approval survives a restart: a click on the old message still runs the plan", async () => {
    const { topology: t, double: d, m, keys } = await lostMaster();
    const first = await startBot(t.inventoryPath, {}, { double: d });
    bots.push(first);
    await first.command("failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    await first.close();
    bots.splice(bots.indexOf(first), 1);

    const second = await startBot(t.inventoryPath, {}, { double: d });
    bots.push(second);
    await second.click(ts, ACTIONS.approve, USERS.bob);
    await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the run",
      timeoutMs: 60_000,
    });
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
  });

  it("a bot killed with SIGKILL mid-run is found on restart; Resume (by an approver) finishes the run without redoing what was done", {
    timeout: 240_000,
  }, async () => {
    const {
      topology: t,
      double: d,
      m,
      keys,
    } = await lostMaster({ start: "sleep 6; redis-server {config}" });
    const port = await freePort("0.0.0.0"); // the bot listens on every address
    const url = `http://127.0.0.1:${port}/slack/events`;
    const bot = await botProcess(t, d, port);
    await postSigned(
      url,
      SIGNING_SECRET,
      slashCommandBody({
        text: "failover cache-test --mode replace",
        user_id: USERS.alice.id,
        channel_id: CHANNEL,
        response_url: d.responseUrl(),
      }),
    );
    const ts = await rootOfNewPlan(d);
    await postSigned(
      url,
      SIGNING_SECRET,
      blockActionsBody(
        clickButton(d, { channel: CHANNEL, ts, actionId: ACTIONS.approve, user: USERS.bob }),
      ),
    );
    // Kill it while it waits on the spare's (slow) start command: the journal says when it began.
    await waitFor(
      async () =>
        /"type":"step-started"[^\n]*"title":"Start Redis on machine-c"/.test(
          await readFile(journalPath(t), "utf8").catch(() => ""),
        ),
      { what: "the start step to begin", timeoutMs: 30_000 },
    );
    bot.kill("SIGKILL");
    await once(bot, "exit");
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);

    await botProcess(t, d, port);
    const offer = await d.waitForCall(
      "chat.postMessage",
      (call) => JSON.stringify(call.args).includes("This run was interrupted"),
      30_000,
    );
    expect(offer.args.thread_ts).toBe(ts);
    expect(JSON.stringify(offer.args)).toMatch(/Start Redis on machine-c/);
    const offerTs = String((offer.response.body as { ts: string }).ts);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Interrupted/);

    const resume = (user: typeof USERS.bob) =>
      postSigned(
        url,
        SIGNING_SECRET,
        blockActionsBody(
          clickButton(d, { channel: CHANNEL, ts: offerTs, actionId: ACTIONS.resume, user }),
        ),
      );
    expect((await resume(USERS.alice)).status).toBe(200);
    await waitFor(
      async () =>
        d.ephemerals.some(
          (message) => message.user === USERS.alice.id && /Not resumed/.test(message.text ?? ""),
        ),
      { what: "the requester's refusal", timeoutMs: 5_000 },
    );
    await resume(USERS.bob);
    await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the resumed run",
      timeoutMs: 40_000,
    });
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
    expect((await info(m["machine-c"]!)).role).toBe("master");
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-c"]!.ip);
    // The snapshot and copy steps were not redone: in the journal, the second attempt records
    // them as done earlier and starts at the start step.
    const records = (await readFile(journalPath(t), "utf8"))
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line.slice(9)) as {
            type: string;
            index?: number;
            status?: string;
            attempt?: number;
            fromStep?: number;
          },
      );
    expect(
      records
        .filter((record) => record.type === "run-started")
        .map((record) => [record.attempt, record.fromStep]),
    ).toEqual([
      [1, 1],
      [2, 4],
    ]);
    expect(
      records
        .filter((record) => record.type === "step-finished" && record.index === 2)
        .map((record) => record.status),
    ).toEqual(["ok", "skipped"]);
    expect(messageButtons(d.message(CHANNEL, ts)!)).toEqual([]);
  });
});

describe("a torn journal", () => {
  it("a record torn by a crash mid-write is ignored: the bot starts, and the pending approval still works", async () => {
    const { topology: t, double: d, m, keys } = await lostMaster();
    const first = await startBot(t.inventoryPath, {}, { double: d });
    bots.push(first);
    await first.command("failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    await waitFor(
      async () => (await readFile(journalPath(t), "utf8")).includes('"type":"posted"'),
      { what: "the posted record", timeoutMs: 10_000 },
    );
    await first.close();
    bots.splice(bots.indexOf(first), 1);
    // What a crash in the middle of writing the next record leaves behind.
    await appendFile(
      journalPath(t),
      '5f3a9c1e {"type":"decided","runId":"fo-torn","cluster":"cache-t',
    );

    const second = await startBot(t.inventoryPath, {}, { double: d });
    bots.push(second);
    await second.click(ts, ACTIONS.approve, USERS.bob);
    await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the run",
      timeoutMs: 60_000,
    });
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
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
