import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, expect } from "vitest";
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
import { lostMasterTopology, waitForLinkDown } from "../integration/helpers.js";
import {
  blockActionsBody,
  clickButton,
  messageText,
  postSigned,
  type RecordedCall,
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

export { fileJournal, redisJournal } from "../harness/journal.js";

/** The Slack double with the incident channel, and Bob in the on-call approver group. */
export function startIncidentDouble(): Promise<SlackDouble> {
  return startSlackDouble({
    channels: [{ id: CHANNEL, name: "incident" }],
    usergroups: { S0ONCALL: [USERS.bob.id] },
  });
}

/** A Redis for STATE_REDIS_URL on a loopback address of its own, its files under `root`. */
export async function startControlPlane(
  root: string,
): Promise<{ controlPlane: RedisServer; stateUrl: string }> {
  const ip = allocateAddressBlock().ip(1);
  const controlPlane = await startRedis({
    name: "control-plane",
    host: ip,
    port: await freePort(ip),
    dir: join(root, "control-plane"),
  });
  return { controlPlane, stateUrl: `redis://${controlPlane.host}:${controlPlane.port}/0` };
}

/**
 * A lost master ready for `--mode promote` on machines without SSH (A down; B and C its
 * replicas, caught up), a control-plane Redis for STATE_REDIS_URL, and the Slack double.
 */
export async function promoteSetup(options: { saveBeforeKill?: boolean } = {}): Promise<{
  topology: TestTopology;
  m: Record<string, Machine>;
  keys: number;
  controlPlane: RedisServer;
  stateUrl: string;
  double: SlackDouble;
}> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master", noSsh: true },
    { name: "machine-b", role: "replica", noSsh: true },
    { name: "machine-c", role: "replica", noSsh: true },
  ]);
  const m = topology.machines as Record<string, Machine>;
  const server = (name: string) => m[name]?.server as NonNullable<Machine["server"]>;
  const keys = await loadData(server("machine-a"), { keys: 1_000, valueBytes: 16 });
  await waitForReplicaSync(server("machine-a"), server("machine-b"));
  await waitForReplicaSync(server("machine-a"), server("machine-c"));
  // A snapshot on disk lets someone bring A back by hand, data and all.
  if (options.saveBeforeKill) await server("machine-a").client().save();
  await server("machine-a").kill();
  await waitForLinkDown(m["machine-b"] as Machine);
  await waitForLinkDown(m["machine-c"] as Machine);
  const { controlPlane, stateUrl } = await startControlPlane(topology.root);
  const double = await startIncidentDouble();
  return { topology, m, keys, controlPlane, stateUrl, double };
}

/** The bot's entry point as a process; `log()` is everything it wrote since it started. */
export async function botProcess(options: {
  double: SlackDouble;
  inventoryPath: string;
  stateDir: string;
  env?: Record<string, string>;
  /** The port of an earlier process, for a restart at the same URL; a free one by default. */
  port?: number;
}): Promise<BotProcess> {
  // The bot listens on every address: the port must be free on all of them, not just one.
  const port = options.port ?? (await freePort("0.0.0.0"));
  const child = await startBotProcess({ ...options, port });
  let log = "";
  child.stderr?.on("data", (chunk) => {
    log += chunk;
  });
  return { child, port, url: `http://127.0.0.1:${port}/slack/events`, log: () => log };
}

export interface BotProcess {
  child: ChildProcess;
  port: number;
  url: string;
  log: () => string;
}

/** Sends SIGTERM and waits for the exit; returns the exit code. */
export async function terminate(child: ChildProcess): Promise<number | null> {
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const [code] = await exited;
  return code as number | null;
}

export function slash(url: string, double: SlackDouble, text: string, user = USERS.alice) {
  return postSigned(
    url,
    SIGNING_SECRET,
    slashCommandBody({
      text,
      user_id: user.id,
      channel_id: CHANNEL,
      response_url: double.responseUrl({ channel: CHANNEL, user: user.id }),
    }),
  );
}

export function click(
  url: string,
  double: SlackDouble,
  ts: string,
  actionId: string,
  user: (typeof USERS)[keyof typeof USERS],
) {
  return postSigned(
    url,
    SIGNING_SECRET,
    blockActionsBody(clickButton(double, { channel: CHANNEL, ts, actionId, user })),
  );
}

export async function rootOfNewPlan(double: SlackDouble): Promise<string> {
  const call = await double.waitForCall(
    "chat.postMessage",
    (candidate) => !candidate.args.thread_ts,
    30_000,
  );
  return String((call.response.body as { ts: string }).ts);
}

/**
 * Waits for the offer to resume an interrupted run, checks it is in the run's thread (root
 * `ts`), and returns it with its own ts (where its buttons are).
 */
export async function resumeOffer(
  double: SlackDouble,
  ts: string,
): Promise<{ offer: RecordedCall; offerTs: string }> {
  const offer = await double.waitForCall(
    "chat.postMessage",
    (call) => JSON.stringify(call.args).includes("This run was interrupted"),
    60_000,
  );
  expect(offer.args.thread_ts).toBe(ts);
  return { offer, offerTs: String((offer.response.body as { ts: string }).ts) };
}

/** Waits until the run's root message (`ts`) shows it ended; returns that message's text. */
export async function runEnded(double: SlackDouble, ts: string, what = "the run"): Promise<string> {
  const text = () => messageText(double.message(CHANNEL, ts) ?? {});
  await waitFor(async () => /Succeeded|Failed/.test(text()), { what, timeoutMs: 60_000 });
  return text();
}

/**
 * Calls `onRecord` with each journal record appended to the control plane from now on, as
 * soon as Redis has it (a blocking XREAD on its own connection). Returns a stop function.
 */
export function watchJournal(
  controlPlane: RedisServer,
  onRecord: (record: JournalRecord) => boolean | undefined,
): () => void {
  const reader = new Redis({
    host: controlPlane.host,
    port: controlPlane.port,
    lazyConnect: false,
  });
  reader.on("error", () => {});
  let stopped = false;
  void (async () => {
    let last = "$";
    while (!stopped) {
      const reply = (await reader
        .xread("BLOCK", 0, "STREAMS", "rfb:journal", last)
        .catch(() => null)) as Array<[string, Array<[string, string[]]>]> | null;
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          const json = fields[fields.indexOf("r") + 1];
          if (json && onRecord(JSON.parse(json) as JournalRecord)) stopped = true;
        }
      }
    }
    reader.disconnect();
  })();
  return () => {
    stopped = true;
    reader.disconnect();
  };
}

/**
 * What the bot lifecycle tests start (topology, control plane, Slack double, bots in this
 * process and as processes, journal watchers), each stopped after every test: call it once at
 * the top of a test file.
 */
export function lifecycleScope() {
  let topology: TestTopology | undefined;
  let controlPlane: RedisServer | undefined;
  let double: SlackDouble | undefined;
  const bots: RunningBot[] = [];
  const children: ChildProcess[] = [];
  const stops: Array<() => void> = [];
  const gateDirs: string[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await Promise.all(
      children.splice(0).map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      }),
    );
    for (const bot of bots.splice(0)) await bot.close().catch(() => undefined);
    // A frozen (SIGSTOPped) control plane would not stop.
    await controlPlane?.resume().catch(() => undefined);
    await double?.close();
    await controlPlane?.stop();
    await topology?.close();
    for (const dir of gateDirs.splice(0)) await rm(dir, { recursive: true, force: true });
    topology = undefined;
    controlPlane = undefined;
    double = undefined;
  });

  const scope = {
    /**
     * The book's lost master (A killed, B its replica, spare C: `lostMasterTopology`), the
     * Slack double, and with `controlPlane` a Redis for STATE_REDIS_URL.
     */
    async lostMaster(spare: Partial<MachineSpec> = {}, options: { controlPlane?: boolean } = {}) {
      const lost = await lostMasterTopology(spare);
      topology = lost.topology;
      const plane = options.controlPlane ? await startControlPlane(lost.topology.root) : undefined;
      controlPlane = plane?.controlPlane;
      double = await startIncidentDouble();
      return {
        ...lost,
        double,
        stateDir: join(lost.topology.root, "bot-state"),
        ...(plane ? { controlPlane: plane.controlPlane, stateUrl: plane.stateUrl } : {}),
      };
    },
    /** `promoteSetup`, stopped after the test. */
    async promote(options: { saveBeforeKill?: boolean } = {}) {
      const setup = await promoteSetup(options);
      ({ topology, controlPlane, double } = setup);
      return { ...setup, stateDir: join(setup.topology.root, "bot-state") };
    },
    /** The bot's entry point as a process (`botProcess`), killed after the test. */
    async process(options: Parameters<typeof botProcess>[0]): Promise<BotProcess> {
      const bot = await botProcess(options);
      children.push(bot.child);
      return bot;
    },
    /** The bot in this process (`startBot`), closed after the test unless closed before. */
    async bot(...args: Parameters<typeof startBot>): Promise<RunningBot> {
      const bot = await startBot(...args);
      bots.push(bot);
      return bot;
    },
    /** Closes a bot `bot()` started, before the test ends (a restart). */
    async close(bot: RunningBot): Promise<void> {
      const index = bots.indexOf(bot);
      if (index >= 0) bots.splice(index, 1);
      await bot.close();
    },
    /**
     * A gate in the spare's start command: `start` waits until `open()`, so the test decides
     * when the step running it ends (the copy step, which starts Redis right after the install
     * when the spare needs no preparation; else the start step). `reached()`: whether the
     * command got to the gate.
     */
    async gate(): Promise<{
      start: string;
      open: () => Promise<void>;
      reached: () => Promise<boolean>;
    }> {
      const dir = await mkdtemp(join(tmpdir(), "rfb-step-gate-"));
      gateDirs.push(dir);
      const file = join(dir, "go");
      const reached = join(dir, "reached");
      return {
        start: `: > ${reached}; while [ ! -e ${file} ]; do sleep 0.1; done; redis-server {config}`,
        open: () => writeFile(file, ""),
        reached: () =>
          access(reached).then(
            () => true,
            () => false,
          ),
      };
    },
    /** `watchJournal`, stopped after the test. */
    watch(server: RedisServer, onRecord: Parameters<typeof watchJournal>[1]): void {
      stops.push(watchJournal(server, onRecord));
    },
  };
  return scope;
}
