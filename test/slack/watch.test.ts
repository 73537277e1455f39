import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { FENCE_ACTION } from "../../src/slack/blocks/watch-message.js";
import { FileLocks } from "../../src/state/file-locks.js";
import { waitFor } from "../harness/redis-server.js";
import { client, dbsize, info } from "../integration/helpers.js";
import { messageButtons, messageText } from "../slack-double/index.js";
import { CHANNEL, startBot, USERS } from "./bot-harness.js";
import { startIncidentDouble } from "./lifecycle-setup.js";
import {
  bots,
  cli,
  expectFencedKeepingEverything,
  hungMasterWithOwnWrites,
  journal,
  OWN_WRITES,
  promotedInSlack,
  RETURNED,
  server,
  threadPosts,
  useDouble,
} from "./watch-setup.js";

describe("watching an old master a run could not fence", () => {
  it("A hung during a promote is watched; when it answers the thread says so with a Fence button; a non-approver is refused, so is a press while the cluster is locked; an approver fences it keeping its own writes", {
    timeout: 300_000,
  }, async () => {
    const { t, a, b, keys } = await hungMasterWithOwnWrites();
    const { d, bot, ts, runId } = await promotedInSlack(t, b);

    // A answers again: still a master, with writes B lacks.
    await server(a).resume();
    await waitFor(async () => threadPosts(d, ts, RETURNED).length > 0, {
      what: "the return to be said in the thread",
      timeoutMs: 60_000,
    });
    const [returned] = threadPosts(d, ts, RETURNED);
    const text = messageText(returned!);
    expect(text).toMatch(/Role\*: \*master\*/);
    expect(text).toMatch(new RegExp(`Keys\\*: ${keys + OWN_WRITES} `));
    expect(text).toMatch(/Diverged writes\*: \*yes\*: \d+ bytes of writes machine-b lacks/);
    const buttons = messageButtons(returned!);
    expect(buttons.map((button) => button.text)).toEqual(["Fence"]);
    expect((await info(a)).role).toBe("master");

    // mallory is no approver: refused, nothing changes.
    await bot.click(returned!.ts, FENCE_ACTION, USERS.mallory);
    await waitFor(
      async () =>
        d.ephemerals.some(
          (e) =>
            e.user === USERS.mallory.id && /Not fenced: you are not an approver/.test(e.text ?? ""),
        ),
      { what: "mallory's refusal", timeoutMs: 30_000 },
    );
    expect((await info(a)).role).toBe("master");
    expect((await journal(t)).some((r) => r.type === "requested" && r.plan.mode === "fence")).toBe(
      false,
    );

    // While another run holds the cluster's lock, Fence is refused and changes nothing.
    const locks = await FileLocks.open(join(t.root, "bot-state"), pino({ level: "silent" }));
    const held = await locks.acquire(
      "cache-test",
      { runId: "fo-other", instance: "test" },
      600_000,
    );
    if (!held.ok) throw new Error("the lock was not free");
    try {
      await bot.click(returned!.ts, FENCE_ACTION, USERS.bob);
      await waitFor(
        async () =>
          d.ephemerals.some(
            (e) => e.user === USERS.bob.id && /run fo-other\) holds the cluster/.test(e.text ?? ""),
          ),
        { what: "bob's refusal while the cluster is locked", timeoutMs: 30_000 },
      );
    } finally {
      await held.lease.release();
    }
    expect((await info(a)).role).toBe("master");

    // Bob (an approver through the on-call group) fences it: steps and result in the thread.
    await bot.click(returned!.ts, FENCE_ACTION, USERS.bob);
    await waitFor(
      async () => {
        const records = await journal(t);
        const fences = new Set(
          records.flatMap((r) =>
            r.type === "requested" && r.plan.mode === "fence" ? [r.runId] : [],
          ),
        );
        return records.some((r) => r.type === "run-finished" && fences.has(r.runId));
      },
      { what: "the fence run to finish", timeoutMs: 90_000 },
    );
    const records = await journal(t);
    const fenceRuns = records.filter((r) => r.type === "requested" && r.plan.mode === "fence");
    // The press refused by the lock is recorded as such; the second one ran.
    expect(fenceRuns).toHaveLength(2);
    expect(
      records.find((r) => r.type === "decided" && r.runId === fenceRuns[0]?.runId),
    ).toMatchObject({ decision: "rejected", by: "slack:cluster-locked" });
    const fenceRun = fenceRuns[1];
    expect(fenceRun?.type === "requested" && fenceRun.requester).toBe(USERS.bob.id);
    const ended = records.find((r) => r.type === "watch-ended" && r.runId === runId);
    expect(ended).toMatchObject({ reason: "fenced", fencedBy: fenceRun?.runId });
    expect(
      records.some((r) => r.type === "run-finished" && r.runId === fenceRun?.runId && r.ok),
    ).toBe(true);
    await waitFor(async () => threadPosts(d, ts, /Watch of machine-a ended/).length === 1, {
      what: "the end of the watch in the thread",
      timeoutMs: 30_000,
    });
    // The fence run's summary is in the run's thread; the run's root message is left as it was.
    expect(
      threadPosts(d, ts, new RegExp(`Failover ${fenceRun?.runId} on cache-test succeeded`, "i")),
    ).toHaveLength(1);
    // Said once for this return, however many probes saw A answering.
    expect(threadPosts(d, ts, RETURNED)).toHaveLength(1);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
    // Its Fence button is gone: nothing is left to fence.
    await waitFor(async () => messageButtons(d.message(CHANNEL, returned!.ts)!).length === 0, {
      what: "the Fence button to be removed",
      timeoutMs: 30_000,
    });
    expect(messageText(d.message(CHANNEL, returned!.ts)!)).toMatch(/Nothing left to fence/);

    // B master with every key it acknowledged; A its replica; A's own writes kept on its disk.
    await expectFencedKeepingEverything(t, a, b, keys, fenceRun?.runId ?? "");
  });

  it("a watch of a CLI run (no thread) reports in the cluster's first channel: a bot on the same state dir posts A's return with a Fence button; Fence runs under that message", {
    timeout: 300_000,
  }, async () => {
    const { t, a, b, keys } = await hungMasterWithOwnWrites();
    const promoted = await cli(t, ["failover", "cache-test", "--mode", "promote", "--yes"]);
    expect(promoted.code, promoted.stdout).toBe(0);
    const cliRun = (await journal(t)).find((r) => r.type === "requested");
    expect(cliRun?.type === "requested" && cliRun.source).toBe("cli");
    const runId = cliRun?.runId ?? "";
    expect(
      (await journal(t)).find((r) => r.type === "watch-started" && r.runId === runId),
    ).toMatchObject({ host: { name: "machine-a" }, newMaster: { name: "machine-b" } });
    expect((await info(b)).role).toBe("master");

    const d = useDouble(await startIncidentDouble());
    const bot = await startBot(t.inventoryPath, {}, { double: d });
    bots.push(bot);
    await server(a).resume();
    const posted = await d.waitForCall(
      "chat.postMessage",
      (call) => RETURNED.test(JSON.stringify(call.args)),
      60_000,
    );
    // In the cluster's first channel, as a message of its own: the CLI run has no thread.
    expect(posted.args.channel).toBe(CHANNEL);
    expect(posted.args.thread_ts).toBeUndefined();
    const returnedTs = String((posted.response.body as { ts: string }).ts);
    const returned = d.message(CHANNEL, returnedTs)!;
    expect(messageText(returned)).toMatch(/Diverged writes\*: \*yes\*/);
    expect(messageButtons(returned).map((button) => button.text)).toEqual(["Fence"]);

    await bot.click(returnedTs, FENCE_ACTION, USERS.bob);
    // The end is said where the watch reports: in the channel, as a message of its own.
    await waitFor(
      async () =>
        d
          .messages(CHANNEL)
          .some((message) => /Watch of machine-a ended/.test(messageText(message))),
      { what: "the end of the watch in the channel", timeoutMs: 90_000 },
    );
    const records = await journal(t);
    const fenceRun = records.find((r) => r.type === "requested" && r.plan.mode === "fence");
    expect(records.find((r) => r.type === "watch-ended" && r.runId === runId)).toMatchObject({
      reason: "fenced",
      fencedBy: fenceRun?.runId,
    });
    // The fence run reports under the pressed message, its thread.
    expect(fenceRun).toMatchObject({ channel: CHANNEL, threadTs: returnedTs });
    await waitFor(
      async () =>
        threadPosts(
          d,
          returnedTs,
          new RegExp(`Failover ${fenceRun?.runId} on cache-test succeeded`, "i"),
        ).length === 1,
      { what: "the fence run's summary under the return message", timeoutMs: 30_000 },
    );
    await expectFencedKeepingEverything(t, a, b, keys, fenceRun?.runId ?? "");
  });
  it("A made a replica of B by hand once it is back: the watch ends as found following the current master", {
    timeout: 300_000,
  }, async () => {
    const { t, a, b, keys } = await hungMasterWithOwnWrites(0);
    const { d, ts, runId } = await promotedInSlack(t, b);
    await server(a).resume();
    await waitFor(async () => threadPosts(d, ts, RETURNED).length === 1, {
      what: "the return",
      timeoutMs: 60_000,
    });
    // The commands the run left in its next actions, typed by an operator.
    const redisA = client(a);
    try {
      await redisA.call("REPLICAOF", b.ip, String(b.port));
      await redisA.call("CONFIG", "REWRITE");
    } finally {
      redisA.disconnect();
    }
    await waitFor(async () => threadPosts(d, ts, /Watch of machine-a ended/).length === 1, {
      what: "the end of the watch",
      timeoutMs: 60_000,
    });
    expect(
      (await journal(t)).find((r) => r.type === "watch-ended" && r.runId === runId),
    ).toMatchObject({ reason: "replica" });
    expect((await journal(t)).some((r) => r.type === "requested" && r.plan.mode === "fence")).toBe(
      false,
    );
    // B master with every key; A its replica with the same keys (it had none of its own).
    expect((await info(b)).role).toBe("master");
    await expect
      .poll(async () => (await info(a)).master_link_status, { timeout: 30_000 })
      .toBe("up");
    expect((await info(a)).master_host).toBe(b.ip);
    expect(await dbsize(b)).toBe(keys);
    await expect.poll(() => dbsize(a), { timeout: 30_000 }).toBe(keys);
  });
});
