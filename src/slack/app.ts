import type { Server } from "node:http";
import { App, type BlockButtonAction } from "@slack/bolt";
import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage } from "../errors.js";
import type { Secrets } from "../secrets.js";
import { RunCoordinator } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";
import { Approvers } from "./approvers.js";
import { boltLogger } from "./bolt-logger.js";
import type { SlackEnv } from "./env.js";
import { FailoverBot } from "./failover-bot.js";
import { FollowUps } from "./follow-ups.js";
import { OutboxRedelivery } from "./outbox/redeliver.js";
import { SlackOutbox } from "./outbox.js";
import { Recovery } from "./recovery.js";
import { ACTIONS } from "./types.js";

export interface SlackBot {
  app: App;
  bot: FailoverBot;
  outbox: SlackOutbox;
  /** Resolves when every request's follow-up work and every run have finished (tests, shutdown). */
  idle(): Promise<void>;
  /** Connects (Socket Mode) or listens (HTTP on PORT, path /slack/events); returns the HTTP server if any. */
  start(): Promise<Server | undefined>;
  /**
   * Stops: new commands and clicks are refused at once (Abort still works), runs get
   * `runGraceMs` to finish and then stop before their next step (parked for Resume), the outbox
   * gets `flushMs` to send what is queued, and what it could not send is kept in the journal.
   * Both default to no limit.
   */
  stop(options?: StopOptions): Promise<StopReport>;
  /** True once stop() has begun: what a readiness probe reports (503 while draining). */
  isDraining(): boolean;
  /** Calls `listener` when stop() begins (at once if it already has). */
  onDrain(listener: () => void): void;
}

export interface StopOptions {
  runGraceMs?: number;
  flushMs?: number;
}

export interface StopReport {
  /** Runs stopped before their next step because the grace ran out. */
  parked: boolean;
  /** Slack writes kept in the journal for the next start. */
  kept: number;
  /** How long each phase took, in ms. */
  phases: { runs: number; flush: number; total: number };
}

/** What someone typing a command or clicking a button is told while the bot is stopping. */
export const RESTARTING_TEXT =
  ":hourglass_flowing_sand: The bot is restarting; nothing was done. Try again in a moment.";

/**
 * Bolt does transport only: verify, parse, ack, hand over. The decisions live in FailoverBot,
 * which never sees Bolt. Web API calls are never retried by the client itself: the outbox owns
 * retries, so a slow or failing Slack cannot stall a failover.
 */
export interface SlackBotOptions {
  env: SlackEnv;
  engine: FailoverEngine;
  log: Logger;
  secrets: Secrets;
  state: StateBackend;
  journal: RunJournal;
  /** How long a cluster lock lives without renewal. */
  leaseMs: number;
  /** How often to look for runs whose executor died (default 5 s). */
  recoveryIntervalMs?: number;
}

export function createSlackBot(options: SlackBotOptions): SlackBot {
  const { env, log } = options;
  for (const cluster of options.engine.inventory.clusters.values()) {
    if (cluster.approvers.length === 0) {
      log.warn(
        { cluster: cluster.name },
        `cluster ${cluster.name} lists no approvers: no failover of it can be approved from Slack`,
      );
    }
  }
  options.secrets.add(env.SLACK_BOT_TOKEN);
  options.secrets.add(env.SLACK_SIGNING_SECRET);
  options.secrets.add(env.SLACK_APP_TOKEN);
  const app = new App({
    token: env.SLACK_BOT_TOKEN,
    ...(env.mode === "socket"
      ? { socketMode: true, appToken: env.SLACK_APP_TOKEN as string }
      : { signingSecret: env.SLACK_SIGNING_SECRET as string }),
    logger: boltLogger(log),
    deferInitialization: true,
    // Not used, and it would run on every request.
    convoStore: false,
    clientOptions: {
      ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 10_000,
    },
  });
  const outbox = new SlackOutbox({ client: app.client, log, secrets: options.secrets });
  const coordinator = new RunCoordinator({
    engine: options.engine,
    journal: options.journal,
    locks: options.state.locks,
    leaseMs: options.leaseMs,
    log,
  });
  const bot = new FailoverBot({
    engine: options.engine,
    outbox,
    approvers: new Approvers(app.client, log),
    journal: options.journal,
    coordinator,
    decisions: options.state.decisions,
    log,
    approvalTimeoutMs: env.APPROVAL_TIMEOUT_MINUTES * 60_000,
    permalink: async (channel, ts) =>
      (await app.client.chat.getPermalink({ channel, message_ts: ts })).permalink,
  });
  const recovery = new Recovery({
    bot,
    engine: options.engine,
    journal: options.journal,
    locks: options.state.locks,
    decisions: options.state.decisions,
    outbox,
    log,
    instance: coordinator.instance,
    intervalMs: options.recoveryIntervalMs ?? 5_000,
  });

  const followUps = new FollowUps({
    concurrency: 2,
    onError: (error) =>
      log.error({ err: errorMessage(error) }, "follow-up of a Slack request failed"),
  });
  let draining = false;
  const drainListeners: Array<() => void> = [];
  const redelivery = new OutboxRedelivery({
    outbox,
    journal: options.journal.store,
    decisions: options.state.decisions,
    log,
    instance: coordinator.instance,
  });
  app.command("/redis", async ({ command, ack, respond }) => {
    if (draining) {
      await ack({ response_type: "ephemeral", text: RESTARTING_TEXT });
      return;
    }
    const outcome = bot.command(
      { text: command.text, user: command.user_id, channel: command.channel_id },
      async (content) => {
        await respond({ response_type: "ephemeral", replace_original: false, ...content }).catch(
          (error: unknown) => {
            log.warn({ err: errorMessage(error) }, "could not reply through response_url");
          },
        );
      },
    );
    await ack({ response_type: "ephemeral", ...outcome.ack });
    if (outcome.after) followUps.add(outcome.after);
  });
  const onButton =
    (
      handler: (runId: string, user: string, channel: string) => Promise<void>,
      whileDraining = false,
    ) =>
    async ({
      ack,
      body,
      action,
    }: {
      ack: () => Promise<void>;
      body: BlockButtonAction;
      action: { value?: string };
    }) => {
      await ack();
      const channel = body.channel?.id ?? body.container?.channel_id;
      if (!action.value || !channel) return;
      const runId = action.value;
      if (draining && !whileDraining) {
        void outbox.postEphemeral(channel, body.user.id, { text: RESTARTING_TEXT });
        return;
      }
      followUps.add(() => handler(runId, body.user.id, channel));
    };
  app.action<BlockButtonAction>(
    ACTIONS.approve,
    onButton((runId, user, channel) => bot.approve(runId, user, channel)),
  );
  app.action<BlockButtonAction>(
    ACTIONS.reject,
    onButton((runId, user, channel) => bot.reject(runId, user, channel)),
  );
  app.action<BlockButtonAction>(
    ACTIONS.abort,
    // Abort is a safety control: it keeps working while the bot drains.
    onButton((runId, user, channel) => bot.abort(runId, user, channel), true),
  );
  app.action<BlockButtonAction>(
    ACTIONS.resume,
    onButton((runId, user, channel) => bot.resume(runId, user, channel)),
  );
  app.error(async (error) => {
    log.error({ err: errorMessage(error) }, "Bolt listener error");
  });

  let server: Server | undefined;
  return {
    app,
    bot,
    outbox,
    isDraining: () => draining,
    onDrain(listener) {
      if (draining) listener();
      else drainListeners.push(listener);
    },
    async idle() {
      await followUps.drained();
      await bot.idle();
    },
    async start() {
      await app.init();
      // Before Recovery renders anything: a kept update is then overtaken by newer ones.
      await redelivery.start(options.recoveryIntervalMs ?? 5_000);
      recovery.start();
      const started = await (env.mode === "socket"
        ? app.start()
        : app.start({ port: env.PORT, host: "0.0.0.0" } as never));
      log.info(
        {
          mode: env.mode,
          ...(env.mode === "http" ? { port: env.PORT, path: "/slack/events" } : {}),
        },
        "bot started",
      );
      server = env.mode === "http" ? (started as Server) : undefined;
      return server;
    },
    async stop(stopOptions = {}) {
      const started = Date.now();
      draining = true;
      for (const listener of drainListeners.splice(0)) listener();
      await recovery.stop();
      await redelivery.stop();
      bot.stopTimers();
      const runsDone = followUps.drained().then(() => coordinator.idle());
      const parked = !(await within(runsDone, stopOptions.runGraceMs));
      if (parked) {
        log.warn(
          { graceMs: stopOptions.runGraceMs },
          "stopping: the run grace is over; runs stop before their next step and are left for Resume",
        );
        coordinator.stopBeforeNextStep();
        await coordinator.idle();
      }
      // Lets a finished run queue its summary before the outbox is flushed.
      await new Promise((resolve) => setImmediate(resolve));
      const runsMs = Date.now() - started;
      const stopping = app.stop();
      // Idle keep-alive connections would otherwise hold the port open until they time out.
      server?.closeAllConnections();
      await stopping;
      const unsent = await outbox.shutdown(stopOptions.flushMs ?? Number.POSITIVE_INFINITY);
      const kept = await redelivery.persist(unsent);
      const report = {
        parked,
        kept,
        phases: { runs: runsMs, flush: Date.now() - started - runsMs, total: Date.now() - started },
      };
      log.info(report, "stopped");
      return report;
    },
  };
}

/** Whether `work` settled within `ms` (no limit when undefined or infinite). */
async function within(work: Promise<unknown>, ms: number | undefined): Promise<boolean> {
  if (ms === undefined || !Number.isFinite(ms)) {
    await work;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true as const), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
