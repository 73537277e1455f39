import { type ChildProcess, spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { bootstrap } from "../../src/app/bootstrap.js";
import { openState, stateSettings } from "../../src/app/state.js";
import { type BotOps, createBotOps } from "../../src/ops/bot-ops.js";
import { createSlackBot, type SlackBot } from "../../src/slack/app.js";
import { readSlackEnv } from "../../src/slack/env.js";
import { waitFor } from "../harness/redis-server.js";
import {
  type ActionUser,
  blockActionsBody,
  clickButton,
  postSigned,
  type SlackDouble,
  slashCommandBody,
  startSlackDouble,
} from "../slack-double/index.js";

export const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
export const CHANNEL = "C0INCIDENT";
export const USERS = {
  alice: { id: "U0ALICE", username: "alice" },
  bob: { id: "U0BOB", username: "bob" },
  mallory: { id: "U0MALLORY", username: "mallory" },
  approver: { id: "U0APPROVER", username: "approver" },
} satisfies Record<string, ActionUser>;

export interface RunningBot {
  double: SlackDouble;
  bot: SlackBot;
  url: string;
  /** http://127.0.0.1:<port>, for /healthz, /readyz and /metrics. */
  baseUrl: string;
  /** Readiness and metrics, when started with `ops: true`. */
  ops?: BotOps;
  logLines: string[];
  /** Types `/redis <text>` in the incident channel as `user`. */
  command(
    text: string,
    user?: ActionUser,
    channel?: string,
  ): Promise<{ status: number; body: string; elapsedMs: number }>;
  /** Clicks a button of a message as it is now in the double. */
  click(
    ts: string,
    actionId: string,
    user: ActionUser,
  ): Promise<{ status: number; body: string; elapsedMs: number }>;
  /** Aims at a button now and clicks later: what a person whose Slack shows an old message does. */
  aim(
    ts: string,
    actionId: string,
    user: ActionUser,
  ): () => Promise<{ status: number; body: string; elapsedMs: number }>;
  close(): Promise<void>;
}

/**
 * The real bot: Bolt's HTTP receiver on loopback, its Web API client pointed at the Slack
 * double, the engine on the given inventory. Requests are signed exactly as Slack signs them.
 */
export async function startBot(
  inventoryPath: string,
  env: Record<string, string> = {},
  options: { double?: SlackDouble; recoveryIntervalMs?: number; ops?: boolean } = {},
): Promise<RunningBot> {
  const double =
    options.double ??
    (await startSlackDouble({
      channels: [
        { id: CHANNEL, name: "incident" },
        { id: "C0RANDOM", name: "random" },
      ],
      usergroups: { S0ONCALL: [USERS.bob.id] },
    }));
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      callback();
    },
  });
  const rawEnv: NodeJS.ProcessEnv = {
    SLACK_BOT_TOKEN: double.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: double.apiUrl,
    PORT: "0",
    INVENTORY_FILE: inventoryPath,
    STATE_DIR: join(dirname(inventoryPath), "bot-state"),
    ...env,
  };
  const slackEnv = readSlackEnv(rawEnv);
  const { engine, log, secrets } = await bootstrap({
    env: {},
    inventoryPath,
    logLevel: process.env.BOT_LOG_LEVEL ?? "debug",
    logDestination: destination,
  });
  const settings = stateSettings(rawEnv);
  const { backend, journal } = await openState({
    settings,
    inventory: engine.inventory,
    env: {},
    log,
    secrets,
  });
  const ops = options.ops
    ? createBotOps({
        backend,
        inventory: engine.inventory,
        ...(settings.redisUrl ? {} : { stateDir: settings.stateDir }),
      })
    : undefined;
  const bot = createSlackBot({
    env: slackEnv,
    engine,
    log,
    secrets,
    state: backend,
    journal: ops?.journal ?? journal,
    leaseMs: settings.leaseMs,
    ...(options.recoveryIntervalMs ? { recoveryIntervalMs: options.recoveryIntervalMs } : {}),
    ...(ops ? { ops } : {}),
  });
  ops?.watchSlack(() => bot.slackReachable(), slackEnv.mode);
  const server = await bot.start();
  if (!server) throw new Error("the bot did not start an HTTP server");
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/slack/events`;
  return {
    double,
    bot,
    url,
    baseUrl,
    ...(ops ? { ops } : {}),
    logLines,
    command(text, user = USERS.alice, channel = CHANNEL) {
      return postSigned(
        url,
        SIGNING_SECRET,
        slashCommandBody({
          text,
          user_id: user.id,
          user_name: user.username ?? user.id,
          channel_id: channel,
          response_url: double.responseUrl({ channel, user: user.id }),
          trigger_id: double.triggerId(),
        }),
      );
    },
    click(ts, actionId, user) {
      return postSigned(
        url,
        SIGNING_SECRET,
        blockActionsBody(clickButton(double, { channel: CHANNEL, ts, actionId, user })),
      );
    },
    aim(ts, actionId, user) {
      const body = blockActionsBody(clickButton(double, { channel: CHANNEL, ts, actionId, user }));
      return () => postSigned(url, SIGNING_SECRET, body);
    },
    async close() {
      await bot.stop();
      await backend.close();
      await engine.close();
      if (!options.double) await double.close();
    },
  };
}

/**
 * The real entry point (`npm start` runs the same file, compiled) in its own process, so a
 * test can kill it with SIGKILL. The caller kills it at the end.
 */
export async function startBotProcess(options: {
  double: SlackDouble;
  inventoryPath: string;
  port: number;
  stateDir: string;
  env?: Record<string, string>;
}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/slack/main.ts"], {
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: options.double.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: options.double.apiUrl,
      PORT: String(options.port),
      INVENTORY_FILE: options.inventoryPath,
      STATE_DIR: options.stateDir,
      LOCK_LEASE_SECONDS: "2",
      LOG_LEVEL: "info",
      ...options.env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.on("data", (chunk) => {
    log += chunk;
  });
  await waitFor(async () => log.includes('"msg":"bot started"') || child.exitCode !== null, {
    what: "the bot process to start",
    // tsx compiles src/ on start: slow on a busy machine.
    timeoutMs: 90_000,
  });
  if (child.exitCode !== null) throw new Error(`the bot exited: ${log}`);
  return child;
}
