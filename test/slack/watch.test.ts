import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
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
import {
  buildTopology,
  type Machine,
  type MachineSpec,
  type TestTopology,
} from "../harness/topology.js";
import { client, dbsize, info } from "../integration/helpers.js";
import { messageButtons, messageText, type SlackDouble } from "../slack-double/index.js";
import { CHANNEL, type RunningBot, startBot, USERS } from "./bot-harness.js";
import {
  type BotProcess,
  botProcess,
  click,
  rootOfNewPlan,
  slash,
  startIncidentDouble,
} from "./lifecycle-setup.js";

/** Writes only the old master took: acknowledged by it, never replicated. */
const OWN_WRITES = 50;
/** The thread reply that says the old master is back. */
const RETURNED = /the old master\) answers again/;

let topology: TestTopology | undefined;
let double: SlackDouble | undefined;
const bots: RunningBot[] = [];
const processes: ChildProcess[] = [];
const extraServers: RedisServer[] = [];
const gateDirs: string[] = [];
afterEach(async () => {
  for (const child of processes.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const bot of bots.splice(0)) await bot.close().catch(() => undefined);
  await Promise.allSettled(extraServers.splice(0).map((server) => server.stop()));
  // A paused server must not outlive the test.
  for (const machine of Object.values(topology?.machines ?? {}))
    await machine.server?.resume().catch(() => undefined);
  await double?.close();
  await topology?.close();
  for (const dir of gateDirs.splice(0)) await rm(dir, { recursive: true, force: true });
  double = undefined;
  topology = undefined;
});

const server = (machine: Machine) => machine.server as RedisServer;

/**
 * A (master) holds writes B never received, then hangs (SIGSTOP); B has lost its link. The
 * planner's own check says when a promote may go ahead. Returns the keys B holds.
 */
async function hungMasterWithOwnWrites(
  ownWrites = OWN_WRITES,
  machineA: Partial<MachineSpec> = {},
): Promise<{
  t: TestTopology;
  a: Machine;
  b: Machine;
  keys: number;
}> {
  const t = await buildTopology([
    { name: "machine-a", role: "master", ...machineA },
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

/**
 * A gate on the fence step's `ln` (the hard link keeping the old master's dataset), for SSH
 * sessions on machine-a: the first `ln` waits, doing nothing, until `abandon()` makes it give
 * up (as the session of a killed bot would); every later one runs at once. `held()` says the
 * first one is waiting.
 */
async function lnGate(): Promise<{
  sshEnv: Record<string, string>;
  held: () => Promise<boolean>;
  abandon: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "rfb-ln-gate-"));
  gateDirs.push(dir);
  const bin = join(dir, "bin");
  await mkdir(bin);
  await writeFile(
    join(bin, "ln"),
    [
      "#!/bin/sh",
      `if mkdir ${dir}/held 2>/dev/null; then`,
      `  while [ ! -e ${dir}/abandon ]; do sleep 0.1; done`,
      `  touch ${dir}/held/gone`,
      "  exit 1",
      "fi",
      'exec /bin/ln "$@"',
      "",
    ].join("\n"),
  );
  await chmod(join(bin, "ln"), 0o755);
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );
  return {
    sshEnv: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` },
    held: () => exists(join(dir, "held")),
    abandon: async () => {
      await writeFile(join(dir, "abandon"), "");
      await waitFor(() => exists(join(dir, "held", "gone")), {
        what: "the held ln to give up",
        timeoutMs: 30_000,
      });
    },
  };
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

/** The `watch` lines of a `--json` output. */
function watchLines(stdout: string) {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line))
    .filter((line) => line.type === "watch");
}

/**
 * The bot's entry point as a process on the bot's state dir, killed after the test; `port`: an
 * earlier one's, for a restart at the same URL.
 */
async function startProcess(d: SlackDouble, t: TestTopology, port?: number): Promise<BotProcess> {
  const bot = await botProcess({
    double: d,
    inventoryPath: t.inventoryPath,
    stateDir: join(t.root, "bot-state"),
    ...(port !== undefined ? { port } : {}),
  });
  processes.push(bot.child);
  return bot;
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
  double = await startIncidentDouble();
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
  // Its summary in the thread says the bot watches A (one line of the summary, no post of its own).
  await waitFor(
    async () =>
      threadPosts(d, ts, new RegExp(`Failover ${runId} on cache-test succeeded`)).length === 1,
    { what: "the promote's summary", timeoutMs: 30_000 },
  );
  const [summary] = threadPosts(d, ts, new RegExp(`Failover ${runId} on cache-test succeeded`));
  expect(messageText(summary!)).toMatch(/Watching machine-a: the bot probes it every few seconds/);
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
    double = await startIncidentDouble();
    const d = double;
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
    double = await startIncidentDouble();
    const d = double;
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

    double = await startIncidentDouble();
    const d = double;
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
