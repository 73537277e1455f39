import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import type { JournalRecord } from "../../src/state/types.js";
import { freePort } from "../harness/addresses.js";
import { waitFor } from "../harness/redis-server.js";
import type { MachineSpec, TestTopology } from "../harness/topology.js";
import { dbsize, info } from "../integration/helpers.js";
import {
  blockActionsBody,
  clickButton,
  messageText,
  postSigned,
  type RecordedCall,
  type SlackDouble,
} from "../slack-double/index.js";
import { CHANNEL, SIGNING_SECRET, USERS } from "./bot-harness.js";
import {
  click,
  fileJournal,
  lifecycleScope,
  resumeOffer,
  rootOfNewPlan,
  runEnded,
  slash,
  terminate,
} from "./lifecycle-setup.js";

const scope = lifecycleScope();

async function lostMaster(spare: Partial<MachineSpec> = {}) {
  const lost = await scope.lostMaster(spare);
  // The bot listens on every address: the port must be free on all of them, not just one.
  const port = await freePort("0.0.0.0");
  return { ...lost, port, url: `http://127.0.0.1:${port}/slack/events` };
}

async function botProcess(
  t: TestTopology,
  d: SlackDouble,
  port: number,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const bot = await scope.process({
    double: d,
    inventoryPath: t.inventoryPath,
    port,
    stateDir: join(t.root, "bot-state"),
    env,
  });
  return bot.child;
}

const command = (d: SlackDouble, url: string, text: string) => slash(url, d, text);
const journal = (t: TestTopology) => fileJournal(join(t.root, "bot-state"));

/**
 * Waits until the spare's start command is held at the gate (in the copy step, which starts
 * Redis right after the install); returns the index of that step, the one in progress.
 */
async function heldStepBegun(t: TestTopology, reached: () => Promise<boolean>): Promise<number> {
  await waitFor(reached, {
    what: "the spare's start command to reach the gate",
    timeoutMs: 30_000,
  });
  const started = (await journal(t)).filter(
    (record): record is Extract<JournalRecord, { type: "step-started" }> =>
      record.type === "step-started",
  );
  const held = started.at(-1);
  expect(held?.title).toBe("Copy the snapshot from machine-b to machine-c");
  return held?.index as number;
}

/** Sends SIGTERM and waits for /readyz to report the drain; `exited` is the process's exit. */
async function drainAfterSigterm(bot: ChildProcess, port: number) {
  const exited = once(bot, "exit");
  bot.kill("SIGTERM");
  await waitFor(
    async () =>
      (await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status)) === 503,
    { what: "/readyz to report the drain", timeoutMs: 30_000 },
  );
  return { exited };
}

const delivered = (call: RecordedCall) =>
  call.response.status === 200 && (call.response.body as { ok?: boolean }).ok === true;

describe("SIGTERM", () => {
  it("with Slack reachable and nothing running: the bot exits with code 0 and keeps nothing", async () => {
    const { topology: t, double: d, port, url } = await lostMaster();
    const bot = await botProcess(t, d, port);
    await command(d, url, "failover cache-test --mode replace --dry-run");
    await d.waitForCall(
      "chat.postMessage",
      (call) => !call.args.thread_ts && delivered(call),
      30_000,
    );

    expect(await terminate(bot)).toBe(0);
    expect((await journal(t)).filter((record) => record.type === "outbox-pending")).toEqual([]);
  });

  it("with Slack answering 500: exits 0 after the flush, and the next start posts the kept plan exactly once", async () => {
    const { topology: t, double: d, port, url } = await lostMaster();
    const bot = await botProcess(t, d, port, { SHUTDOWN_FLUSH_SECONDS: "1" });
    d.failAll("*", { status: 500 });
    await command(d, url, "failover cache-test --mode replace --dry-run");
    // The plan is queued: Slack refused it once already, and the outbox will retry.
    await d.waitForCall("chat.postMessage", () => true, 30_000);

    expect(await terminate(bot)).toBe(0);
    const kept = (await journal(t)).filter((record) => record.type === "outbox-pending");
    // The plan message, and the whole plan as a file in its thread (it is too long for Slack).
    expect(kept).toMatchObject([
      { channel: CHANNEL, write: { kind: "post", root: true } },
      { channel: CHANNEL, write: { kind: "upload", thread: { pending: kept[0]?.id } } },
    ]);
    const runId = kept[0]?.runId;
    expect(runId).toMatch(/\S/);

    // Slack is back; a new bot on the same state posts what the first one kept.
    d.clearFaults();
    const next = await botProcess(t, d, port);
    const deliveries = async () =>
      (await journal(t)).filter((record) => record.type === "outbox-delivered");
    await waitFor(async () => (await deliveries()).length === kept.length, {
      what: "the kept writes to be delivered",
      timeoutMs: 30_000,
    });
    // Each kept write sent once; the order of their records is not the point (an attachment
    // can be recorded before or after the post it hangs off).
    const byId = (a: string[], b: string[]) => String(a[0]).localeCompare(String(b[0]));
    expect((await deliveries()).map((record) => [record.id, record.outcome]).sort(byId)).toEqual(
      kept.map((record) => [record.id, "sent"]).sort(byId),
    );
    const posts = d
      .callsTo("chat.postMessage")
      .filter((call) => delivered(call) && !call.args.thread_ts);
    expect(posts).toHaveLength(1);
    const [post] = posts as [RecordedCall];
    expect(String(post.args.text)).toMatch(/cache-test/);
    const ts = String((post.response.body as { ts: string }).ts);
    expect(messageText(d.message(CHANNEL, ts) ?? {})).toMatch(/dry run/i);
    expect(d.files.map((file) => [file.filename, file.thread_ts])).toEqual([
      [`failover-${runId}-plan.txt`, ts],
    ]);
    // The run now knows its message, as if it had been posted the first time.
    expect(
      (await journal(t)).filter((record) => record.type === "posted" && record.runId === runId),
    ).toMatchObject([{ channel: CHANNEL, ts }]);

    // Once only: another restart sends nothing more.
    expect(await terminate(next)).toBe(0);
    const again = await botProcess(t, d, port);
    expect(await terminate(again)).toBe(0);
    expect(
      d.callsTo("chat.postMessage").filter((call) => delivered(call) && !call.args.thread_ts),
    ).toHaveLength(1);
    expect(d.files).toHaveLength(1);
  });

  it("during a run: new requests are refused, the step in progress finishes, no further step runs, and the next start offers Resume", {
    timeout: 150_000,
  }, async () => {
    const gate = await scope.gate();
    const { topology: t, double: d, port, url, m, keys } = await lostMaster({ start: gate.start });
    const bot = await botProcess(t, d, port, { SHUTDOWN_RUN_GRACE_SECONDS: "0" });
    await command(d, url, "failover cache-test --mode replace");
    const root = await d.waitForCall("chat.postMessage", (call) => !call.args.thread_ts, 30_000);
    const ts = String((root.response.body as { ts: string }).ts);
    await click(url, d, ts, ACTIONS.approve, USERS.bob);
    const step = await heldStepBegun(t, gate.reached);

    // SIGTERM while the step is held: the bot drains and waits for the step.
    const { exited } = await drainAfterSigterm(bot, port);
    const refused = await command(d, url, "status cache-test");
    expect(JSON.parse(refused.body).text).toMatch(/The bot is restarting; nothing was done/);
    await gate.open();
    const [code] = await exited;
    expect(code).toBe(0);
    // The thread says why the run stopped.
    expect(
      d
        .callsTo("chat.postMessage")
        .some(
          (call) =>
            call.args.thread_ts === ts &&
            /stopped for a restart/.test(String(call.args.text)) &&
            delivered(call),
        ),
    ).toBe(true);
    const records = await journal(t);
    expect(
      records
        .filter((record) => record.type === "step-finished" && record.index === step)
        .map((record) => (record as { status: string }).status),
    ).toEqual(["ok"]);
    expect(
      records.some((record) => record.type === "step-started" && record.index === step + 1),
    ).toBe(false);
    expect(records.some((record) => record.type === "run-finished")).toBe(false);
    // The step did its work: the copy is installed and its command started Redis on the spare;
    // nothing else changed yet.
    expect((await info(m["machine-c"]!)).role).toBe("master");
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);

    await botProcess(t, d, port);
    const { offerTs } = await resumeOffer(d, ts);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Interrupted/);
    await click(url, d, offerTs, ACTIONS.resume, USERS.bob);
    expect(await runEnded(d, ts, "the resumed run")).toMatch(/Succeeded/);
    // Resumed after the step that finished; every server's role, and no key lost.
    const attempts = (await journal(t))
      .filter((record) => record.type === "run-started")
      .map((record) => [record.attempt, record.fromStep]);
    expect(attempts).toEqual([
      [1, 1],
      [2, step + 1],
    ]);
    expect((await info(m["machine-a"]!).catch(() => ({ role: "down" }))).role).toBe("down");
    expect((await info(m["machine-c"]!)).role).toBe("master");
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-c"]!.ip);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
  });
  it("while it drains, a click on another button (a Reject Slack still showed) is answered that nothing was done, and Abort still stops the run", {
    timeout: 150_000,
  }, async () => {
    const gate = await scope.gate();
    const { topology: t, double: d, port, url, m, keys } = await lostMaster({ start: gate.start });
    // No run grace to speak of: the drain lasts until the run ends (here: by Abort).
    const bot = await botProcess(t, d, port, { SHUTDOWN_RUN_GRACE_SECONDS: "3600" });
    await command(d, url, "failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    // Bob's Slack still shows the request's buttons when he clicks Reject, after the drain began.
    const staleReject = blockActionsBody(
      clickButton(d, { channel: CHANNEL, ts, actionId: ACTIONS.reject, user: USERS.bob }),
    );
    await click(url, d, ts, ACTIONS.approve, USERS.bob);
    const step = await heldStepBegun(t, gate.reached);

    const { exited } = await drainAfterSigterm(bot, port);
    expect((await postSigned(url, SIGNING_SECRET, staleReject)).status).toBe(200);
    await waitFor(
      async () =>
        d.ephemerals.some(
          (message) =>
            message.user === USERS.bob.id &&
            /The bot is restarting; nothing was done/.test(message.text ?? ""),
        ),
      { what: "the answer to the click", timeoutMs: 30_000 },
    );
    // Nothing was done: the run was not rejected and goes on.
    expect((await journal(t)).some((record) => record.type === "run-finished")).toBe(false);

    await click(url, d, ts, ACTIONS.abort, USERS.bob);
    await waitFor(async () => /Abort requested by/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the abort to show on the root message",
      timeoutMs: 30_000,
    });
    await gate.open();
    expect((await exited)[0]).toBe(0);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Aborted/);
    const records = await journal(t);
    expect(records.filter((record) => record.type === "run-finished")).toMatchObject([
      { aborted: true, abortedBy: USERS.bob.id },
    ]);
    // The step in progress finished; no further step ran.
    expect(
      records.some((record) => record.type === "step-started" && record.index === step + 1),
    ).toBe(false);
    // Every server's role: A down, C started by the step (master, every key), B still a
    // replica of the lost A with every key.
    expect((await info(m["machine-a"]!).catch(() => ({ role: "down" }))).role).toBe("down");
    expect((await info(m["machine-c"]!)).role).toBe("master");
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
  });
});
