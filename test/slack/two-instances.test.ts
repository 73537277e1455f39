import { once } from "node:events";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor } from "../harness/redis-server.js";
import type { MachineSpec } from "../harness/topology.js";
import { dbsize, info } from "../integration/helpers.js";
import { blockActionsBody, clickButton, messageText, postSigned } from "../slack-double/index.js";
import { CHANNEL, SIGNING_SECRET, USERS } from "./bot-harness.js";
import {
  click,
  redisJournal as journal,
  lifecycleScope,
  resumeOffer,
  rootOfNewPlan,
  runEnded,
  slash,
  terminate,
} from "./lifecycle-setup.js";

const scope = lifecycleScope();

async function setUp(spare: Partial<MachineSpec> = {}) {
  const lost = await scope.lostMaster(spare, { controlPlane: true });
  const { m, keys, topology: t, double: d, controlPlane, stateUrl } = lost;
  return { m, keys, t, d, controlPlane: controlPlane!, stateUrl: stateUrl! };
}

describe("two bot instances sharing STATE_REDIS_URL", () => {
  it("refuses a control-plane Redis that is one of the managed servers", async () => {
    const { t, d, m } = await setUp();
    const b = m["machine-b"]!;
    await expect(
      scope.bot(t.inventoryPath, { STATE_REDIS_URL: `redis://${b.ip}:${b.port}/0` }, { double: d }),
    ).rejects.toThrow(/cluster cache-test host machine-b/);
  });

  it("the same Approve click reaching both instances at the same moment starts exactly one run", async () => {
    const { m, keys, t, d, stateUrl } = await setUp();
    const one = await scope.bot(
      t.inventoryPath,
      { STATE_REDIS_URL: stateUrl, STATE_DIR: join(t.root, "one") },
      { double: d },
    );
    const two = await scope.bot(
      t.inventoryPath,
      { STATE_REDIS_URL: stateUrl, STATE_DIR: join(t.root, "two") },
      { double: d },
    );
    await one.command("failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    const body = blockActionsBody(
      clickButton(d, { channel: CHANNEL, ts, actionId: ACTIONS.approve, user: USERS.bob }),
    );
    const replies = await Promise.all([
      postSigned(one.url, SIGNING_SECRET, body),
      postSigned(two.url, SIGNING_SECRET, body),
    ]);
    expect(replies.map((reply) => reply.status)).toEqual([200, 200]);

    await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the run",
      timeoutMs: 60_000,
    });
    await Promise.all([one.bot.idle(), two.bot.idle()]);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
    const stepOneReplies = d
      .thread(CHANNEL, ts)
      .filter((message) => /^Step 1\//.test(message.text ?? ""));
    expect(stepOneReplies).toHaveLength(1);
    const ran = [one, two].filter((bot) =>
      bot.logLines.some((line) => line.includes("run attempt started under the cluster lock")),
    );
    expect(ran).toHaveLength(1);
    expect(
      d.ephemerals
        .filter((message) => message.user === USERS.bob.id)
        .map((message) => message.text),
    ).toEqual([
      expect.stringMatching(/Nothing was done: this request was already (approved|decided)/),
    ]);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
  });

  it("when the executing instance dies, the other one sees the lease expire and offers Resume in the thread", {
    timeout: 240_000,
  }, async () => {
    const gate = await scope.gate();
    const { m, keys, t, d, stateUrl } = await setUp({ start: gate.start });
    const start = (dir: string) =>
      scope.process({
        double: d,
        inventoryPath: t.inventoryPath,
        stateDir: join(t.root, dir),
        env: { STATE_REDIS_URL: stateUrl },
      });
    const one = await start("one");
    const two = await start("two");
    await slash(one.url, d, "failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    await click(one.url, d, ts, ACTIONS.approve, USERS.bob);
    // Kill the executing instance while the spare's start command (run by the copy step's
    // command right after the install) is held at a gate; cut off, it then goes on alone.
    await waitFor(gate.reached, { what: "the spare's start command", timeoutMs: 30_000 });
    one.child.kill("SIGKILL");
    await once(one.child, "exit");
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

    const { offerTs } = await resumeOffer(d, ts);
    await click(two.url, d, offerTs, ACTIONS.resume, USERS.bob);
    expect(await runEnded(d, ts, "the resumed run")).toMatch(/Succeeded/);
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-c"]!.ip);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    expect(
      d.calls.filter((call) => JSON.stringify(call.args).includes("This run was interrupted")),
    ).toHaveLength(1);
  });
  it("two instances starting at once over Slack writes a stopped bot kept: each is sent exactly once", {
    timeout: 240_000,
  }, async () => {
    const { topology: t, double: d, controlPlane, stateUrl, m, keys } = await scope.promote();
    const env = { STATE_REDIS_URL: stateUrl };
    const start = (dir: string, extra: Record<string, string> = {}) =>
      scope.process({
        double: d,
        inventoryPath: t.inventoryPath,
        stateDir: join(t.root, dir),
        env: { ...env, ...extra },
      });
    // A bot stops while Slack answers 500: it keeps the plan message in the journal.
    const first = await start("first", { SHUTDOWN_FLUSH_SECONDS: "1" });
    d.failAll("*", { status: 500 });
    await slash(first.url, d, "failover cache-test --mode promote --dry-run");
    await d.waitForCall("chat.postMessage", () => true, 30_000);
    expect(await terminate(first.child)).toBe(0);
    const kept = (await journal(controlPlane)).filter((record) => record.type === "outbox-pending");
    expect(kept[0]).toMatchObject({ channel: CHANNEL, write: { kind: "post", root: true } });

    // Two instances start together while Slack still refuses posts: each scans the journal
    // before it says it started, so both see every kept write still undelivered and race to
    // claim it. (Slack must answer auth.test for a bot to start at all.)
    d.clearFaults();
    d.failAll("chat.postMessage", { status: 500 });
    const [one, two] = await Promise.all([start("one"), start("two")]);
    expect(
      (await journal(controlPlane)).filter((record) => record.type === "outbox-delivered"),
    ).toEqual([]);
    d.clearFaults();
    const deliveries = async () =>
      (await journal(controlPlane)).filter((record) => record.type === "outbox-delivered");
    await waitFor(async () => (await deliveries()).length >= kept.length, {
      what: "the kept writes to be delivered",
      // The outbox backs off up to 30 s between retries while Slack fails.
      timeoutMs: 90_000,
    });
    await Promise.all([terminate(one.child), terminate(two.child)]);
    const byId = (a: string[], b: string[]) => String(a[0]).localeCompare(String(b[0]));
    expect((await deliveries()).map((record) => [record.id, record.outcome]).sort(byId)).toEqual(
      kept.map((record) => [record.id, "sent"]).sort(byId),
    );
    const posts = d
      .callsTo("chat.postMessage")
      .filter(
        (call) =>
          !call.args.thread_ts &&
          call.response.status === 200 &&
          (call.response.body as { ok?: boolean }).ok === true,
      );
    expect(posts).toHaveLength(1);
    const runId = kept[0]?.runId;
    expect(
      (await journal(controlPlane)).filter(
        (record) => record.type === "posted" && record.runId === runId,
      ),
    ).toHaveLength(1);
    // A dry run changes nothing: A down, B and C still its replicas with every key.
    expect(m["machine-a"]!.server!.isRunning()).toBe(false);
    for (const name of ["machine-b", "machine-c"]) {
      expect((await info(m[name]!)).master_host).toBe(m["machine-a"]!.ip);
      expect(await dbsize(m[name]!)).toBe(keys);
    }
  });
});
