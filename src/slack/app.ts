import type { Server } from "node:http";
import { App, type BlockButtonAction, SocketModeReceiver } from "@slack/bolt";
import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage } from "../errors.js";
import { type Ops, opsRoutes } from "../ops/routes.js";
import { countingFetch } from "../ops/slack-fetch.js";
import type { Secrets } from "../secrets.js";
import { RunCoordinator } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";
import { Approvers } from "./approvers.js";
import { boltLogger } from "./bolt-logger.js";
import type { SlackEnv } from "./env.js";
import { FailoverBot } from "./failover-bot.js";
import { FollowUps } from "./follow-ups.js";
import { SlackOutbox } from "./outbox.js";
import { parseSlashCommand } from "./parse-command.js";
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
  /** Socket Mode: the socket is connected; HTTP: the receiver listens (for /readyz). */
  slackReachable(): boolean;
  stop(): Promise<void>;
}

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
  /** /healthz, /readyz and /metrics (served on the receiver in HTTP mode) and the metrics to count. */
  ops?: Ops;
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
  const { ops } = options;
  const apiUrl = env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {};
  const socket =
    env.mode === "socket"
      ? new SocketModeReceiver({
          appToken: env.SLACK_APP_TOKEN as string,
          logger: boltLogger(log),
          installerOptions: { clientOptions: apiUrl },
        })
      : undefined;
  let socketConnected = false;
  socket?.client.on("connected", () => {
    socketConnected = true;
  });
  for (const state of ["disconnecting", "disconnected", "reconnecting"]) {
    socket?.client.on(state, () => {
      socketConnected = false;
    });
  }
  let httpServer: Server | undefined;
  const app = new App({
    token: env.SLACK_BOT_TOKEN,
    ...(socket
      ? { receiver: socket }
      : {
          signingSecret: env.SLACK_SIGNING_SECRET as string,
          ...(ops ? { customRoutes: opsRoutes(ops) } : {}),
        }),
    logger: boltLogger(log),
    deferInitialization: true,
    // Not used, and it would run on every request.
    convoStore: false,
    clientOptions: {
      ...apiUrl,
      ...(ops ? { fetch: countingFetch(ops.metrics, env.SLACK_API_URL) } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 10_000,
    },
  });
  const outbox = new SlackOutbox({ client: app.client, log, secrets: options.secrets });
  ops?.metrics.watchOutboxDepth(() => outbox.depth());
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
  app.command("/redis", async ({ command, ack, respond }) => {
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
    if (ops) {
      const parsed = parseSlashCommand(command.text);
      const kind = parsed.ok ? parsed.command.kind : "invalid";
      ops.metrics.slashCommand(
        kind,
        outcome.after ? "accepted" : kind === "help" ? "answered" : "refused",
      );
    }
    if (outcome.after) followUps.add(outcome.after);
  });
  const onButton =
    (handler: (runId: string, user: string, channel: string) => Promise<void>) =>
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
    onButton((runId, user, channel) => bot.abort(runId, user, channel)),
  );
  app.action<BlockButtonAction>(
    ACTIONS.resume,
    onButton((runId, user, channel) => bot.resume(runId, user, channel)),
  );
  app.error(async (error) => {
    log.error({ err: errorMessage(error) }, "Bolt listener error");
  });

  return {
    app,
    bot,
    outbox,
    async idle() {
      await followUps.drained();
      await bot.idle();
    },
    async start() {
      await app.init();
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
      if (env.mode === "http") httpServer = started as Server;
      return httpServer;
    },
    slackReachable() {
      return socket ? socketConnected : (httpServer?.listening ?? false);
    },
    async stop() {
      await recovery.stop();
      await followUps.drained();
      bot.stopTimers();
      await bot.idle();
      await app.stop();
      await outbox.close();
    },
  };
}
