// Shared by the watch test files: a promote with A hung holding its own writes, and the helpers
// that drive the bot and read the journal. Importing it registers the clean-up after each test.
import type { ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import type { JournalRecord } from "../../src/state/types.js";
import {
  loadData,
  type RedisServer,
  startRedisFromSnapshot,
  waitFor,
  waitForReplicaSync,
} from "../harness/redis-server.js";
import {
  buildTopology,
  type Machine,
  type MachineSpec,
  type TestTopology,
} from "../harness/topology.js";
import { client, dbsize, info, runCliCaptured } from "../integration/helpers.js";
import { messageText, type SlackDouble } from "../slack-double/index.js";
import { CHANNEL, type RunningBot, startBot, USERS } from "./bot-harness.js";
import {
  type BotProcess,
  botProcess,
  rootOfNewPlan,
  startIncidentDouble,
} from "./lifecycle-setup.js";

/** Writes only the old master took: acknowledged by it, never replicated. */
export const OWN_WRITES = 50;
/** The thread reply that says the old master is back. */
export const RETURNED = /the old master\) answers again/;

export let topology: TestTopology | undefined;
let double: SlackDouble | undefined;
/** The test's Slack double, closed after the test. */
export function useDouble(d: SlackDouble): SlackDouble {
  double = d;
  return d;
}
export const bots: RunningBot[] = [];
export const processes: ChildProcess[] = [];
export const extraServers: RedisServer[] = [];
export const gateDirs: string[] = [];
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

export const server = (machine: Machine) => machine.server as RedisServer;

/**
 * A (master) holds writes B never received, then hangs (SIGSTOP); B has lost its link. The
 * planner's own check says when a promote may go ahead. Returns the keys B holds.
 */
export async function hungMasterWithOwnWrites(
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
export async function lnGate(): Promise<{
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

export function journalPath(t: TestTopology): string {
  return join(t.root, "bot-state", "journal.log");
}

export async function journal(t: TestTopology): Promise<JournalRecord[]> {
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
/** The CLI against the bot's state dir; stdout and stderr together. */
export async function cli(
  t: TestTopology,
  args: string[],
): Promise<{ code: number; stdout: string }> {
  const { code, stdout, stderr } = await runCliCaptured([...args, "--inventory", t.inventoryPath], {
    env: { STATE_DIR: join(t.root, "bot-state") },
  });
  return { code, stdout: stdout + stderr };
}

/** The `watch` lines of a `--json` output. */
export function watchLines(stdout: string) {
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
export async function startProcess(
  d: SlackDouble,
  t: TestTopology,
  port?: number,
): Promise<BotProcess> {
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
export function threadPosts(d: SlackDouble, ts: string, pattern: RegExp) {
  return d.thread(CHANNEL, ts).filter((message) => pattern.test(messageText(message)));
}

/** Every server's role, and A's own writes: in the kept file, loaded into a scratch server. */
export async function expectFencedKeepingEverything(
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
  const scratch = await startRedisFromSnapshot(kept, join(t.root, "scratch"));
  extraServers.push(scratch);
  expect(await scratch.client().dbsize()).toBe(keys + OWN_WRITES);
  expect(await scratch.client().get(`own:${OWN_WRITES - 1}`)).toBe(String(OWN_WRITES - 1));
}

/** The promote requested and approved in Slack, with A hung: it succeeds and leaves a watch on A. */
export async function promotedInSlack(t: TestTopology, b: Machine) {
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
