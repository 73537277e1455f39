import { afterEach, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor } from "../harness/redis-server.js";
import type { MachineSpec, TestTopology } from "../harness/topology.js";
import { dbsize, info, lostMasterTopology } from "../integration/helpers.js";
import { messageButtons, messageText, SLACK_LIMITS } from "../slack-double/index.js";
import { CHANNEL, type RunningBot, startBot, USERS } from "./bot-harness.js";

let topology: TestTopology | undefined;
let running: RunningBot | undefined;
afterEach(async () => {
  await running?.close();
  await topology?.close();
  running = undefined;
  topology = undefined;
});

/** A, B and spare C with A already lost; the Slack bot up; a replace plan posted. Returns the root ts. */
async function lostMasterWithPlan(spare: Partial<MachineSpec> = {}) {
  const lost = await lostMasterTopology(spare);
  topology = lost.topology;
  const { m, keys } = lost;
  running = await startBot(topology.inventoryPath);
  await running.command("failover cache-test --mode replace");
  const call = await running.double.waitForCall(
    "chat.postMessage",
    (candidate) => !candidate.args.thread_ts,
    20_000,
  );
  const ts = String((call.response.body as { ts: string }).ts);
  return { m, ts, keys, running, root: () => running!.double.message(CHANNEL, ts)! };
}

describe("Slack front end under pressure", () => {
  it("cuts very long step output in the message and attaches it whole to the thread", async () => {
    // The spare's start command prints about 300 KB before starting Redis; the copy step's
    // command runs it right after the install, so that step's output is the long one.
    const { ts, running, root } = await lostMasterWithPlan({
      start: `seq 1 50000 | sed 's/^/start log line /'; redis-server {config}`,
    });
    await running.click(ts, ACTIONS.approve, USERS.bob);
    await waitFor(async () => /Succeeded|Failed/.test(messageText(root())), {
      what: "the run",
      timeoutMs: 60_000,
    });
    await running.bot.idle();
    const upload = running.double.files.find((file) =>
      String(file.bytes ?? "").includes("start log line 50000"),
    );
    expect(upload?.thread_ts).toBe(ts);
    expect(String(upload?.bytes)).toContain("start log line 1\n");
    const copyReply = running.double
      .thread(CHANNEL, ts)
      .slice(1)
      .find((reply) => /Copy the snapshot from machine-b to machine-c/.test(messageText(reply)))!;
    expect(messageText(copyReply)).toMatch(/earlier lines cut — full output attached/);
    expect(JSON.stringify(copyReply.blocks).length).toBeLessThan(SLACK_LIMITS.maxTotalBlockChars);
    expect(
      running.double.calls.filter((call) => (call.response.body as { ok?: boolean }).ok === false),
    ).toEqual([]);
  });

  it("keeps failing over while Slack answers 500 and 429 for the whole run, then delivers every message in order", async () => {
    const { ts, running, root, m, keys } = await lostMasterWithPlan();
    await running.click(ts, ACTIONS.approve, USERS.bob);
    await running.double.waitForCall("chat.update", () => true, 5_000);
    // First Slack rate-limits everything, then it fails outright, until the failover is over.
    running.double.failAll("chat.postMessage", { status: 429, retryAfterSec: 1 });
    running.double.failAll("chat.update", { status: 429, retryAfterSec: 1 });
    // Whichever write comes first (the root's re-render or a step's reply) is rate-limited.
    await waitFor(
      async () =>
        running.double.calls.some(
          (call) =>
            (call.method === "chat.postMessage" || call.method === "chat.update") &&
            call.response.status === 429,
        ),
      { what: "a rate-limited Slack write", timeoutMs: 20_000 },
    );
    running.double.failAll("chat.postMessage", { status: 500 });
    running.double.failAll("chat.update", { status: 500 });
    // The failover itself finishes although Slack accepts nothing.
    await waitFor(
      async () =>
        (await info(m["machine-c"]!)).role === "master" &&
        (await info(m["machine-b"]!)).master_link_status === "up",
      {
        what: "the failover to finish during the outage",
        timeoutMs: 60_000,
      },
    );
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
    // The outage lasts until Slack has answered 500 as well, however fast the failover was.
    await waitFor(
      async () =>
        running.double.calls.some(
          (call) =>
            (call.method === "chat.postMessage" || call.method === "chat.update") &&
            call.response.status === 500,
        ),
      { what: "a Slack write answered 500", timeoutMs: 60_000 },
    );
    running.double.clearFaults();
    await waitFor(async () => /Succeeded/.test(messageText(root())), {
      what: "the root message to catch up",
      timeoutMs: 90_000,
    });
    await running.bot.idle();
    const replies = running.double.thread(CHANNEL, ts).slice(1).map(messageText);
    const steps = replies
      .map((text) => Number(/Step (\d+)\//.exec(text)?.[1]))
      .filter((n) => n > 0);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.length).toBeGreaterThanOrEqual(6);
    expect(replies.at(-1)).toMatch(/<@U0BOB>/);
    const faulted = running.double.calls.filter((call) => call.response.fault);
    expect(faulted.length).toBeGreaterThan(0);
    const outboxLog = running.logLines.filter((line) =>
      line.includes('"component":"slack-outbox"'),
    );
    expect(
      outboxLog.some((line) => line.includes("rate-limited the call; waiting Retry-After")),
    ).toBe(true);
    expect(outboxLog.some((line) => line.includes('"error":"HTTP 500"'))).toBe(true);
  });

  it("Abort stops the run before its next step: the replica is never touched", async () => {
    const { ts, running, root, m, keys } = await lostMasterWithPlan({
      start: `sleep 2; redis-server {config}`,
    });
    await running.click(ts, ACTIONS.approve, USERS.bob);
    await waitFor(async () => messageButtons(root()).some((button) => button.text === "Abort"), {
      what: "the Abort button",
      timeoutMs: 10_000,
    });
    // The slow start command runs inside the copy step's command, right after the install.
    await waitFor(async () => /Copy the snapshot/.test(messageText(root())), {
      what: "the copy step",
      timeoutMs: 20_000,
    });
    await running.click(ts, ACTIONS.abort, USERS.bob);
    await waitFor(async () => /[Aa]borted/.test(messageText(root())), {
      what: "the abort",
      timeoutMs: 30_000,
    });
    expect(messageButtons(root())).toEqual([]);
    const b = await info(m["machine-b"]!);
    expect([b.role, b.master_host]).toEqual(["slave", m["machine-a"]!.ip]);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
  });
});
