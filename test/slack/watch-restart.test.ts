import { once } from "node:events";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { FENCE_ACTION } from "../../src/slack/blocks/watch-message.js";
import { ACTIONS } from "../../src/slack/types.js";
import { FileLocks } from "../../src/state/file-locks.js";
import { waitFor } from "../harness/redis-server.js";
import { dbsize, info } from "../integration/helpers.js";
import { messageButtons, messageText } from "../slack-double/index.js";
import { CHANNEL, startBot, USERS } from "./bot-harness.js";
import { click, rootOfNewPlan, slash, startIncidentDouble } from "./lifecycle-setup.js";
import {
  bots,
  cli,
  expectFencedKeepingEverything,
  hungMasterWithOwnWrites,
  journal,
  lnGate,
  OWN_WRITES,
  promotedInSlack,
  RETURNED,
  server,
  startProcess,
  threadPosts,
  useDouble,
  watchLines,
} from "./watch-setup.js";

describe("watching an old master across restarts, instances and interrupted fences", () => {
  it("survives a restart: the bot killed while watching, A returns, the next bot process says it once", {
    timeout: 360_000,
  }, async () => {
    const { t, a, b, keys } = await hungMasterWithOwnWrites();
    const d = useDouble(await startIncidentDouble());
    const first = await startProcess(d, t);
    const url = first.url;
    await slash(url, d, "failover cache-test --mode promote");
    const ts = await rootOfNewPlan(d);
    const press = (messageTs: string, actionId: string, user: (typeof USERS)[keyof typeof USERS]) =>
      click(url, d, messageTs, actionId, user);
    await press(ts, ACTIONS.approve, USERS.bob);
    // Killed once the promote is over and the bot is only watching A.
    await waitFor(
      async () => {
        const records = await journal(t);
        return (
          records.some((r) => r.type === "watch-started") &&
          records.some((r) => r.type === "run-finished" && r.ok)
        );
      },
      { what: "the promote to finish with a watch on A", timeoutMs: 90_000 },
    );
    first.child.kill("SIGKILL");
    await once(first.child, "exit");

    await server(a).resume();
    expect((await info(a)).role).toBe("master");
    await startProcess(d, t, first.port);
    await waitFor(async () => threadPosts(d, ts, RETURNED).length > 0, {
      what: "the new bot to say A is back",
      timeoutMs: 90_000,
    });
    const [returned] = threadPosts(d, ts, RETURNED);
    expect(messageText(returned!)).toMatch(/Diverged writes\*: \*yes\*/);
    await press(returned!.ts, FENCE_ACTION, USERS.bob);
    await waitFor(async () => threadPosts(d, ts, /Watch of machine-a ended/).length === 1, {
      what: "the watch to end",
      timeoutMs: 90_000,
    });
    // Once for this return, across the restart and every probe while fencing.
    expect(threadPosts(d, ts, RETURNED)).toHaveLength(1);
    expect(
      (await journal(t)).filter((r) => r.type === "watch-returned").map((r) => r.runId),
    ).toHaveLength(1);
    const fenceRun = (await journal(t)).find(
      (r) => r.type === "requested" && r.plan.mode === "fence",
    );
    await expectFencedKeepingEverything(t, a, b, keys, fenceRun?.runId ?? "");
  });
  it("a Fence run cut short by a bot killed with SIGKILL is offered for Resume in the watched run's thread; Resume (any approver, not mallory) finishes the fence, the watch ends, the cluster is free", {
    timeout: 360_000,
  }, async () => {
    const gate = await lnGate();
    const { t, a, b, keys } = await hungMasterWithOwnWrites(OWN_WRITES, { sshEnv: gate.sshEnv });
    const d = useDouble(await startIncidentDouble());
    const first = await startProcess(d, t);
    const url = first.url;
    const press = (messageTs: string, actionId: string, user: (typeof USERS)[keyof typeof USERS]) =>
      click(url, d, messageTs, actionId, user);
    await slash(url, d, "failover cache-test --mode promote");
    const ts = await rootOfNewPlan(d);
    await press(ts, ACTIONS.approve, USERS.bob);
    await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the promote",
      timeoutMs: 90_000,
    });
    const runId = (await journal(t)).find((r) => r.type === "requested")?.runId ?? "";

    await server(a).resume();
    await waitFor(async () => threadPosts(d, ts, RETURNED).length > 0, {
      what: "the return to be said in the thread",
      timeoutMs: 60_000,
    });
    const [returned] = threadPosts(d, ts, RETURNED);
    // Bob presses Fence; the bot dies while the fence step keeps A's dataset (its ln is held).
    await press(returned!.ts, FENCE_ACTION, USERS.bob);
    await waitFor(gate.held, { what: "the fence step to reach its ln", timeoutMs: 90_000 });
    // Its step is shown in the watched run's thread, as every Fence run's steps are.
    await waitFor(async () => threadPosts(d, ts, /Fence the old master machine-a/).length > 0, {
      what: "the fence step in the thread",
      timeoutMs: 30_000,
    });
    first.child.kill("SIGKILL");
    await once(first.child, "exit");
    await gate.abandon();
    const fenceRunId =
      (await journal(t)).find((r) => r.type === "requested" && r.plan.mode === "fence")?.runId ??
      "";
    expect(
      (await journal(t)).some((r) => r.type === "run-finished" && r.runId === fenceRunId),
    ).toBe(false);
    // Nothing was changed on A yet: still a master holding its own writes.
    expect((await info(a)).role).toBe("master");
    expect(await dbsize(a)).toBe(keys + OWN_WRITES);

    await startProcess(d, t, first.port);
    const offer = await d.waitForCall(
      "chat.postMessage",
      (call) => JSON.stringify(call.args).includes("This run was interrupted"),
      120_000,
    );
    // In the watched run's thread, where the fence run's steps were posted; the run's root stays.
    expect(offer.args.thread_ts).toBe(ts);
    expect(JSON.stringify(offer.args)).toContain(fenceRunId);
    const offerTs = String((offer.response.body as { ts: string }).ts);
    expect(messageButtons(d.message(CHANNEL, offerTs)!).map((button) => button.text)).toEqual([
      "Resume",
      "Dismiss",
    ]);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);

    // Until then the interrupted fence run holds the cluster: a new request is refused with a
    // link to the thread where Resume is offered.
    await slash(url, d, "failover cache-test --mode promote");
    const busy = await waitFor(
      async () =>
        d.responses.find((post) => JSON.stringify(post.payload).includes(`run ${fenceRunId}`)),
      { what: "the new request to be refused", timeoutMs: 60_000 },
    );
    expect(JSON.stringify(busy.payload)).toContain(`/p${ts.replace(".", "")}`);
    expect(JSON.stringify(busy.payload)).toMatch(/Resume or Dismiss it in its thread/);

    // mallory is no approver: refused, nothing changes.
    await press(offerTs, ACTIONS.resume, USERS.mallory);
    await waitFor(
      async () =>
        d.ephemerals.some((e) => e.user === USERS.mallory.id && /Not resumed/.test(e.text ?? "")),
      { what: "mallory's refusal", timeoutMs: 30_000 },
    );
    expect((await info(a)).role).toBe("master");
    // Bob pressed Fence alone, as any approver may: he may resume his own fence run too.
    await press(offerTs, ACTIONS.resume, USERS.bob);
    await waitFor(
      async () =>
        (await journal(t)).some((r) => r.type === "run-finished" && r.runId === fenceRunId && r.ok),
      { what: "the resumed fence run to succeed", timeoutMs: 90_000 },
    );
    const records = await journal(t);
    expect(
      records
        .filter((r) => r.type === "run-started" && r.runId === fenceRunId)
        .map((r) => (r.type === "run-started" ? [r.attempt, r.fromStep] : [])),
    ).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(records.find((r) => r.type === "watch-ended" && r.runId === runId)).toMatchObject({
      reason: "fenced",
      fencedBy: fenceRunId,
    });
    await waitFor(async () => threadPosts(d, ts, /Watch of machine-a ended/).length === 1, {
      what: "the end of the watch in the thread",
      timeoutMs: 30_000,
    });
    expect(
      threadPosts(d, ts, new RegExp(`Failover ${fenceRunId} on cache-test succeeded`, "i")),
    ).toHaveLength(1);
    // The cluster is free: nothing holds its lock, and no run of it is left unfinished.
    const locks = await FileLocks.open(join(t.root, "bot-state"), pino({ level: "silent" }));
    expect(await locks.holder("cache-test")).toBeUndefined();
    const status = await cli(t, ["history", "cache-test", "--json"]);
    expect(status.code).toBe(0);
    expect(watchLines(status.stdout)).toEqual([]);

    // B master with every key; A its replica; A's own writes kept on its disk once.
    await expectFencedKeepingEverything(t, a, b, keys, fenceRunId);
  });

  it("A that goes away and comes back is said again, once, with two bot instances watching; the CLI's fence ends the watch", {
    timeout: 300_000,
  }, async () => {
    const { t, a, b, keys } = await hungMasterWithOwnWrites();
    const { d, ts, runId } = await promotedInSlack(t, b);
    // A second instance on the same journal watches too: each return is still said once.
    bots.push(await startBot(t.inventoryPath, {}, { double: d }));

    await server(a).resume();
    await waitFor(async () => threadPosts(d, ts, RETURNED).length === 1, {
      what: "the first return",
      timeoutMs: 60_000,
    });
    await server(a).pause();
    await waitFor(async () => threadPosts(d, ts, /stopped answering again/).length === 1, {
      what: "the silence to be said",
      timeoutMs: 60_000,
    });
    await server(a).resume();
    await waitFor(async () => threadPosts(d, ts, RETURNED).length === 2, {
      what: "the second return",
      timeoutMs: 60_000,
    });
    expect(messageText(threadPosts(d, ts, RETURNED)[1]!)).toMatch(/return 2 since the run/);

    // `history` lists the open watch.
    const history = await cli(t, ["history", "cache-test", "--json"]);
    expect(history.code).toBe(0);
    expect(watchLines(history.stdout)).toMatchObject([
      { runId, host: "machine-a", newMaster: "machine-b", answering: true, returns: 2 },
    ]);

    // `status` shows it too: as a JSON field, as a line under the table, and in Slack.
    const statusJson = await cli(t, ["status", "cache-test", "--json"]);
    expect(statusJson.code).toBe(0);
    const statusLine = JSON.parse(
      statusJson.stdout.split("\n").find((line) => line.startsWith('{"type":"status"')) ?? "{}",
    );
    expect(statusLine.watches).toMatchObject([
      { runId, host: "machine-a", newMaster: "machine-b", answering: true, returns: 2 },
    ]);
    expect(typeof statusLine.watches[0].since).toBe("number");
    const statusText = await cli(t, ["status", "cache-test"]);
    expect(statusText.stdout).toMatch(
      new RegExp(
        `Watching machine-a since .* UTC \\(run ${runId} could not fence it\\): it answers again and is NOT fenced`,
      ),
    );
    await bots[0]!.command("status cache-test");
    const slackStatus = await waitFor(
      async () =>
        d.responses.find((post) => JSON.stringify(post.payload).includes("Watched old masters")),
      { what: "the Slack status with the watch", timeoutMs: 60_000 },
    );
    expect(JSON.stringify(slackStatus.payload)).toMatch(
      new RegExp(`machine-a since [^"]* \\(run ${runId}\\): answers again and is NOT fenced`),
    );

    // The operator fences from a terminal instead: same journal, the watch ends all the same.
    const fenced = await cli(t, ["fence", "cache-test", "--host", "machine-a", "--yes"]);
    expect(fenced.code, fenced.stdout).toBe(0);
    const records = await journal(t);
    const fenceRun = records.find((r) => r.type === "requested" && r.plan.mode === "fence");
    expect(fenceRun?.type === "requested" && fenceRun.source).toBe("cli");
    await waitFor(async () => threadPosts(d, ts, /Watch of machine-a ended/).length === 1, {
      what: "the end of the watch in the thread",
      timeoutMs: 30_000,
    });
    expect(
      (await journal(t)).find((r) => r.type === "watch-ended" && r.runId === runId),
    ).toMatchObject({ reason: "fenced", fencedBy: fenceRun?.runId });
    expect(threadPosts(d, ts, RETURNED)).toHaveLength(2);
    expect(threadPosts(d, ts, /stopped answering again/)).toHaveLength(1);
    expect(threadPosts(d, ts, /Watch of machine-a ended/)).toHaveLength(1);
    await expectFencedKeepingEverything(t, a, b, keys, fenceRun?.runId ?? "");
  });
});
