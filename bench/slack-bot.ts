import { type ChildProcess, spawn } from "node:child_process";
import { ACTIONS } from "../src/slack/types.js";
import { freePort } from "../test/harness/addresses.js";
import { waitFor } from "../test/harness/redis-server.js";
import { CHANNEL, SIGNING_SECRET, USERS } from "../test/slack/bot-harness.js";
import {
  blockActionsBody,
  clickButton,
  postSigned,
  type SlackDouble,
  slashCommandBody,
  startSlackDouble,
} from "../test/slack-double/index.js";

/** The bot as production runs it (the compiled `npm start` entry), against the Slack double. */
export interface CompiledBot {
  child: ChildProcess;
  /** Where Slack's signed requests go. */
  url: string;
  double: SlackDouble;
  /** Everything the bot logged so far. */
  log: () => string;
  /** Kills the bot if it still runs, and closes the double. */
  close: () => Promise<void>;
}

/** Starts the Slack double and the compiled bot on a free port; waits until it is up. */
export async function startCompiledBot(options: {
  inventoryPath: string;
  stateDir: string;
  env?: Record<string, string>;
}): Promise<CompiledBot> {
  const double = await startSlackDouble({
    channels: [{ id: CHANNEL, name: "incident" }],
    usergroups: { S0ONCALL: [USERS.bob.id] },
  });
  // The bot listens on every address: the port must be free on all of them.
  const port = await freePort("0.0.0.0");
  const child = spawn(process.execPath, ["dist/slack/main.js"], {
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: double.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: double.apiUrl,
      PORT: String(port),
      INVENTORY_FILE: options.inventoryPath,
      STATE_DIR: options.stateDir,
      LOG_LEVEL: "info",
      ...options.env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let botLog = "";
  child.stderr?.on("data", (chunk) => {
    botLog += chunk;
  });
  const close = async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await double.close();
  };
  try {
    await waitFor(async () => botLog.includes('"msg":"bot started"'), {
      what: "the bot to start",
      timeoutMs: 20_000,
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    child,
    url: `http://127.0.0.1:${port}/slack/events`,
    double,
    log: () => botLog,
    close,
  };
}

/** The signed body of `/redis <text>` typed by `user` in the incident channel. */
export function slashBody(double: SlackDouble, text: string, user = USERS.alice.id): string {
  return slashCommandBody({
    text,
    user_id: user,
    channel_id: CHANNEL,
    response_url: double.responseUrl({ channel: CHANNEL, user }),
  });
}

/** Types `/redis <text>` as Alice. */
export function slash(bot: Pick<CompiledBot, "url" | "double">, text: string) {
  return postSigned(bot.url, SIGNING_SECRET, slashBody(bot.double, text));
}

/** Requests a failover as Alice and approves it as Bob; returns the run's root message ts. */
export async function approvedRun(
  bot: Pick<CompiledBot, "url" | "double">,
  request: string,
): Promise<string> {
  await slash(bot, request);
  const root = await bot.double.waitForCall(
    "chat.postMessage",
    (call) => !call.args.thread_ts,
    120_000,
  );
  const ts = String((root.response.body as { ts: string }).ts);
  await postSigned(
    bot.url,
    SIGNING_SECRET,
    blockActionsBody(
      clickButton(bot.double, { channel: CHANNEL, ts, actionId: ACTIONS.approve, user: USERS.bob }),
    ),
  );
  return ts;
}

/** Sends the requests at once from another process (bench/fire.mjs); each one's status and time. */
export function fire(
  jobs: Array<{ url: string; body: string; headers: Record<string, string> }>,
): Promise<Array<{ status: number; ms: number }>> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ["bench/fire.mjs"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out))
        : reject(new Error(`the load generator exited with ${code}`)),
    );
    child.stdin?.end(JSON.stringify(jobs));
  });
}
