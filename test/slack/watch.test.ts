import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/program.js";
import { FENCE_ACTION } from "../../src/slack/blocks/watch-message.js";
import { ACTIONS } from "../../src/slack/types.js";
import { FileLocks } from "../../src/state/file-locks.js";
import type { JournalRecord } from "../../src/state/types.js";
import { allocateAddressBlock, freePort } from "../harness/addresses.js";
import {
  loadData,
  type RedisServer,
  startRedis,
  waitFor,
  waitForReplicaSync,
} from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { client, dbsize, info } from "../integration/helpers.js";
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

/** Writes only the old master took: acknowledged by it, never replicated. */
const OWN_WRITES = 50;
/** The thread reply that says the old master is back. */
const RETURNED = /the old master\) answers again/;

let topology: TestTopology | undefined;
let double: SlackDouble | undefined;
const bots: RunningBot[] = [];
const processes: ChildProcess[] = [];
const extraServers: RedisServer[] = [];
afterEach(async () => {
  for (const child of processes.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const bot of bots.splice(0)) await bot.close().catch(() => undefined);
  await Promise.allSettled(extraServers.splice(0).map((server) => server.stop()));
  // A paused server must not outlive the test.
  for (const machine of Object.values(topology?.machines ?? {}))
    await machine.server?.resume().catch(() => undefined);
  await double?.close();
  await topology?.close();
  double = undefined;
  topology = undefined;
});

const server = (machine: Machine) => machine.server as RedisServer;

/**
 * A (master) holds writes B never received, then hangs (SIGSTOP); B has lost its link. The
 * planner's own check says when a promote may go ahead. Returns the keys B holds.
 */
async function hungMasterWithOwnWrites(ownWrites = OWN_WRITES): Promise<{
  t: TestTopology;
  a: Machine;
  b: Machine;
  keys: number;
}> {
  const t = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
  ]);
  topology = t;
  const m = t.machines as Record<string, Machine>;
  const [a, b] = [m["machine-a"], m["machine-b"]] as [Machine, Machine];
  const keys = await loadData(server(a), { keys: 500, valueBytes: 16 });
  await waitForReplicaSync(server(a), server(b));
  for (const machine of [a, b])
    await server(machine).client().config("SET", "repl-ping-replica-period", "1");
  if (ownWrites > 0) {
    // B frozen, A drops its link to B, then takes writes of its own that reach nobody else.
    await server(b).pause();
    await server(a).client().call("CLIENT", "KILL", "TYPE", "replica");
    const redisA = client(a);
    try {
      for (let i = 0; i < ownWrites; i++)
        expect(await redisA.set(`own:${i}`, String(i))).toBe("OK");
    } finally {
      redisA.disconnect();
    }
  }
  await server(a).pause();
  if (ownWrites > 0) await server(b).resume();
  const engine = await t.engine();
  await expect
    .poll(async () => (await engine.plan({ cluster: "cache-test", mode: "promote" })).ok, {
      timeout: 90_000,
      interval: 250,
    })
    .toBe(true);
  expect(await dbsize(b)).toBe(keys);
  return { t, a, b, keys };
}

function journalPath(t: TestTopology): string {
  return join(t.root, "bot-state", "journal.log");
}

async function journal(t: TestTopology): Promise<JournalRecord[]> {
  const text = await readFile(journalPath(t), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line.slice(line.indexOf(" ") + 1)) as JournalRecord];
      } catch {
        return [];
      }
    });
}

async function rootOfNewPlan(d: SlackDouble): Promise<string> {
  const call = await d.waitForCall("chat.postMessage", (c) => !c.args.thread_ts, 30_000);
  return String((call.response.body as { ts: string }).ts);
}

/** The CLI in-process, on the bot's journal; stdout and stderr together. */
async function cli(t: TestTopology, args: string[]): Promise<{ code: number; stdout: string }> {
  const out = new PassThrough();
  let printed = "";
  out.on("data", (chunk) => {
    printed += chunk;
  });
  const code = await runCli([...args, "--inventory", t.inventoryPath], {
    stdout: out,
    stderr: out,
    stdin: new PassThrough(),
    env: { STATE_DIR: join(t.root, "bot-state") },
    interactive: false,
  });
  return { code, stdout: printed };
}

/** Replies in the run's thread whose text matches. */
function threadPosts(d: SlackDouble, ts: string, pattern: RegExp) {
  return d.thread(CHANNEL, ts).filter((message) => pattern.test(messageText(message)));
}

/** Every server's role, and A's own writes: in the kept file, loaded into a scratch server. */
async function expectFencedKeepingEverything(
  t: TestTopology,
  a: Machine,
  b: Machine,
  keys: number,
  fenceRunId: string,
): Promise<void> {
  expect((await info(b)).role).toBe("master");
  await expect.poll(async () => (await info(a)).master_link_status, { timeout: 30_000 }).toBe("up");
  expect((await info(a)).role).toBe("slave");
  expect((await info(a)).master_host).toBe(b.ip);
  expect(await dbsize(b)).toBe(keys);
  await expect.poll(() => dbsize(a), { timeout: 30_000 }).toBe(keys);
  const kept = join(a.dir, `dump.rdb.before-${fenceRunId}`);
  const scratchDir = join(t.root, "scratch");
  await mkdir(scratchDir, { recursive: true });
  await copyFile(kept, join(scratchDir, "kept.rdb"));
  const ip = allocateAddressBlock().ip(1);
  const scratch = await startRedis({
    name: "scratch",
    host: ip,
    port: await freePort(ip),
    dir: scratchDir,
    dbfilename: "kept.rdb",
  });
  extraServers.push(scratch);
  expect(await scratch.client().dbsize()).toBe(keys + OWN_WRITES);
  expect(await scratch.client().get(`own:${OWN_WRITES - 1}`)).toBe(String(OWN_WRITES - 1));
}

/** The promote requested and approved in Slack, with A hung: it succeeds and leaves a watch on A. */
async function promotedInSlack(t: TestTopology, b: Machine) {
  double = await startSlackDouble({
    channels: [{ id: CHANNEL, name: "incident" }],
    usergroups: { S0ONCALL: [USERS.bob.id] },
  });
  const d = double;
  const bot = await startBot(t.inventoryPath, {}, { double: d });
  bots.push(bot);
  await bot.command("failover cache-test --mode promote");
  const ts = await rootOfNewPlan(d);
  await bot.click(ts, ACTIONS.approve, USERS.bob);
  await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
    what: "the promote",
    timeoutMs: 90_000,
  });
  expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
  const runId = (await journal(t)).find((r) => r.type === "requested")?.runId ?? "";
  // The run ends with a watch on A: recorded right after the fence step that could not reach it.
  const records = await journal(t);
  const started = records.findIndex((r) => r.type === "watch-started" && r.runId === runId);
  expect(records[started]).toMatchObject({
    host: { name: "machine-a" },
    newMaster: { name: "machine-b" },
  });
  expect(records[started - 1]).toMatchObject({ type: "step-finished", runId, status: "ok" });
  expect(records.filter((r) => r.type === "watch-started")).toHaveLength(1);
  expect(records.findIndex((r) => r.type === "run-finished" && r.runId === runId)).toBeGreaterThan(
    started,
  );
  expect((await info(b)).role).toBe("master");
  return { d, bot, ts, runId };
}

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

  it("survives a restart: the bot killed while watching, A returns, the next bot process says it once", {
    timeout: 360_000,
  }, async () => {
    const { t, a, b, keys } = await hungMasterWithOwnWrites();
    double = await startSlackDouble({
      channels: [{ id: CHANNEL, name: "incident" }],
      usergroups: { S0ONCALL: [USERS.bob.id] },
    });
    const d = double;
    const port = await freePort("0.0.0.0");
    const url = `http://127.0.0.1:${port}/slack/events`;
    const start = async () => {
      const child = await startBotProcess({
        double: d,
        inventoryPath: t.inventoryPath,
        port,
        stateDir: join(t.root, "bot-state"),
      });
      processes.push(child);
      return child;
    };
    const first = await start();
    await postSigned(
      url,
      SIGNING_SECRET,
      slashCommandBody({
        text: "failover cache-test --mode promote",
        user_id: USERS.alice.id,
        channel_id: CHANNEL,
        response_url: d.responseUrl(),
      }),
    );
    const ts = await rootOfNewPlan(d);
    const click = (messageTs: string, actionId: string, user: typeof USERS.bob) =>
      postSigned(
        url,
        SIGNING_SECRET,
        blockActionsBody(clickButton(d, { channel: CHANNEL, ts: messageTs, actionId, user })),
      );
    await click(ts, ACTIONS.approve, USERS.bob);
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
    first.kill("SIGKILL");
    await once(first, "exit");

    await server(a).resume();
    expect((await info(a)).role).toBe("master");
    await start();
    await waitFor(async () => threadPosts(d, ts, RETURNED).length > 0, {
      what: "the new bot to say A is back",
      timeoutMs: 90_000,
    });
    const [returned] = threadPosts(d, ts, RETURNED);
    expect(messageText(returned!)).toMatch(/Diverged writes\*: \*yes\*/);
    await click(returned!.ts, FENCE_ACTION, USERS.bob);
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
    expect(
      history.stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line))
        .filter((line) => line.type === "watch"),
    ).toMatchObject([
      { runId, host: "machine-a", newMaster: "machine-b", answering: true, returns: 2 },
    ]);

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
