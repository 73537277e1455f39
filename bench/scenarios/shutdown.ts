import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import type { JournalRecord } from "../../src/state/types.js";
import { fileJournal } from "../../test/harness/journal.js";
import { loadData, waitFor, waitForReplicaSync } from "../../test/harness/redis-server.js";
import {
  buildTopology,
  type Machine,
  type MachineSpec,
  type TestTopology,
} from "../../test/harness/topology.js";
import { lostMasterTopology } from "../../test/integration/helpers.js";
import { CHANNEL } from "../../test/slack/bot-harness.js";
import { messageText, type SlackDouble } from "../../test/slack-double/index.js";
import { log, type Measurement, measurement } from "../lib.js";
import { approvedRun, slash, startCompiledBot } from "../slack-bot.js";

/** What the issue measured before: SIGTERM after a completed failover, Slack reachable. */
const IDLE_BEFORE_MS = 8_400;
/** Kubernetes' default terminationGracePeriodSeconds. */
const KUBERNETES_GRACE_MS = 30_000;
/** Before: a queued message to an unreachable Slack held the bot for the outbox's 15 minutes. */
const OUTBOX_MAX_WAIT_MS = 15 * 60_000;
const FLUSH_SECONDS = 5;

/**
 * Time from SIGTERM to the exit of the real bot process (the compiled `npm start` entry), in
 * three cases: idle after a completed failover (a switchover) with Slack reachable; a plan queued while Slack
 * answers 500 (the flush bound, then the journal); and a run in the middle of a 6 s step with
 * SHUTDOWN_RUN_GRACE_SECONDS=0 (the step finishes, the run is parked for Resume).
 */
export async function shutdownTimes(options: { runs: number }): Promise<Measurement[]> {
  const idle: number[] = [];
  const queued: number[] = [];
  const during: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    idle.push(await scenario(healthy, {}, afterSwitchover));
    queued.push(
      await scenario(healthy, { SHUTDOWN_FLUSH_SECONDS: String(FLUSH_SECONDS) }, queuedUnreachable),
    );
    during.push(
      await scenario(
        async () =>
          (await lostMasterTopology({ start: "sleep 6; redis-server {config}" })).topology,
        { SHUTDOWN_RUN_GRACE_SECONDS: "0" },
        duringStep,
      ),
    );
    log(
      `shutdown: idle ${idle.at(-1)?.toFixed(0)} ms, queued ${queued.at(-1)?.toFixed(0)} ms, during a step ${during.at(-1)?.toFixed(0)} ms`,
    );
  }
  return [
    measurement("shutdown_idle_ms", idle, [IDLE_BEFORE_MS], "ms", {
      baselineIs: "8,400 ms, measured before the fix (issue 13)",
      goal: "< 2,000 ms",
      met: (ours) => ours < 2_000,
    }),
    measurement("shutdown_slack_down_ms", queued, [OUTBOX_MAX_WAIT_MS], "ms", {
      baselineIs: "the outbox's 15 minutes of retries, before the fix",
      goal: `< flush bound + 2 s (${FLUSH_SECONDS + 2} s)`,
      met: (ours) => ours < (FLUSH_SECONDS + 2) * 1000,
    }),
    measurement("shutdown_during_step_ms", during, [KUBERNETES_GRACE_MS], "ms", {
      baselineIs: "Kubernetes' 30 s grace before SIGKILL",
      goal: "< 30,000 ms (the rest of the step, then exit)",
      met: (ours) => ours < KUBERNETES_GRACE_MS,
    }),
  ];
}

interface Bot {
  child: ChildProcess;
  url: string;
  double: SlackDouble;
  /** The bot's STATE_DIR (its journal). */
  stateDir: string;
}

/** Master and replica up and in sync: a switchover plans and runs over Redis alone. */
async function healthy(): Promise<TestTopology> {
  const specs: MachineSpec[] = [
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare" },
  ];
  const topology = await buildTopology(specs);
  const m = topology.machines as Record<string, Machine>;
  const server = (name: string) => m[name]?.server as NonNullable<Machine["server"]>;
  await loadData(server("machine-a"), { keys: 2_000, valueBytes: 16 });
  await waitForReplicaSync(server("machine-a"), server("machine-b"));
  return topology;
}

async function scenario(
  build: () => Promise<TestTopology>,
  env: Record<string, string>,
  setUp: (bot: Bot) => Promise<void>,
): Promise<number> {
  const topology = await build();
  const stateDir = join(topology.root, "bot-state");
  const bot = await startCompiledBot({
    inventoryPath: topology.inventoryPath,
    stateDir,
    env,
  }).catch(async (error: unknown) => {
    await topology.close();
    throw error;
  });
  try {
    await setUp({ ...bot, stateDir }).catch((error: unknown) => {
      throw new Error(`${String(error)}\nthe bot's log:\n${bot.log().slice(-3000)}`);
    });
    const exited = once(bot.child, "exit");
    const started = performance.now();
    bot.child.kill("SIGTERM");
    const [code] = await exited;
    const ms = performance.now() - started;
    if (code !== 0) throw new Error(`the bot exited with ${code} after SIGTERM:\n${bot.log()}`);
    return ms;
  } finally {
    await bot.close();
    await topology.close();
  }
}

async function afterSwitchover(bot: Bot): Promise<void> {
  const ts = await approvedRun(bot, "failover cache-test --mode switchover");
  await waitFor(async () => /Succeeded/.test(messageText(bot.double.message(CHANNEL, ts) ?? {})), {
    what: "the failover to succeed",
    timeoutMs: 120_000,
  });
}

async function queuedUnreachable(bot: Bot): Promise<void> {
  bot.double.failAll("*", { status: 500 });
  await slash(bot, "failover cache-test --mode switchover --dry-run");
  await bot.double.waitForCall("chat.postMessage", () => true, 120_000);
}

async function duringStep(bot: Bot): Promise<void> {
  await approvedRun(bot, "failover cache-test --mode replace");
  // The journal, not Slack: a thread reply may reach Slack after its step is over.
  // The spare's slow start runs inside the copy step's command (after the install).
  const slowStepRunning = async () => {
    const records = await fileJournal(bot.stateDir);
    const started = records.find(
      (record): record is Extract<JournalRecord, { type: "step-started" }> =>
        record.type === "step-started" && /^Copy the snapshot/.test(record.title),
    );
    return (
      started !== undefined &&
      !records.some((record) => record.type === "step-finished" && record.index === started.index)
    );
  };
  await waitFor(slowStepRunning, { what: "the run to reach its slow step", timeoutMs: 120_000 });
}
