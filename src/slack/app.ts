import type { Server } from "node:http";
import { App, type BlockButtonAction, SocketModeReceiver } from "@slack/bolt";
import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage } from "../errors.js";
import { type Ops, opsRoutes } from "../ops/routes.js";
import { countingFetch } from "../ops/slack-fetch.js";
import { RunLifecycle } from "../runs/lifecycle.js";
import type { Secrets } from "../secrets.js";
import { RunCoordinator } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";
import { Approvers } from "./approvers.js";
import { boltLogger } from "./bolt-logger.js";
import { type ClickHandler, clickHandlers } from "./clicks.js";
import { SlashCommands } from "./commands.js";
import type { SlackEnv } from "./env.js";
import { FollowUps } from "./follow-ups.js";
import { SlackOutbox } from "./outbox.js";
import { parseSlashCommand } from "./parse-command.js";
import { Recovery } from "./recovery.js";
import { RunMessages } from "./run-messages.js";
import { ACTIONS } from "./types.js";

export interface SlackBot {
  app: App;
  lifecycle: RunLifecycle;
  outbox: SlackOutbox;
  /** Resolves when every request's follow-up work and every run have finished (tests, shutdown). */
  idle(): Promise<void>;
  /** Connects (Socket Mode) or listens (HTTP on PORT, path /slack/events); returns the HTTP server if any. */
  start(): Promise<Server | undefined>;
  /** Socket Mode: the socket is connected; HTTP: the receiver listens (for /readyz). */
  slackReachable(): boolean;
  stop(): Promise<void>;
}

/** Slow commands (preflight, status, history) one user may have queued or running at once. */
const SLOW_PER_USER = 3;

/**
 * Bolt does transport only: verify, parse, ack, hand over. The lifecycle (src/runs/) decides;
 * commands.ts, clicks.ts and run-messages.ts translate between it and Slack. Web API calls are
 * never retried by the client itself: the outbox owns retries, so a slow or failing Slack
 * cannot stall a failover.
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
    if (cluster.channels.length === 0) {
      log.warn(
        { cluster: cluster.name },
        `cluster ${cluster.name} lists no channels: failovers of it cannot be requested from Slack`,
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
  const messages = new RunMessages({ outbox, log });
  const lifecycle = new RunLifecycle({
    engine: options.engine,
    journal: options.journal,
    coordinator,
    decisions: options.state.decisions,
    approvers: new Approvers(app.client, log),
    observer: messages,
    log,
    approvalTimeoutMs: env.APPROVAL_TIMEOUT_MINUTES * 60_000,
  });
  const commands = new SlashCommands({
    engine: options.engine,
    lifecycle,
    messages,
    log,
    permalink: async (channel, ts) =>
      (await app.client.chat.getPermalink({ channel, message_ts: ts })).permalink,
  });
  const clicks = clickHandlers({ lifecycle, messages, outbox, log });
  const recovery = new Recovery({
    lifecycle,
    messages,
    engine: options.engine,
    journal: options.journal,
    locks: options.state.locks,
    decisions: options.state.decisions,
    log,
    instance: coordinator.instance,
    intervalMs: options.recoveryIntervalMs ?? 5_000,
  });

  // Two lanes: a click never waits behind preflight, status or history.
  const slowWork = new FollowUps({
    concurrency: 2,
    perKey: SLOW_PER_USER,
    onError: (error) =>
      log.error({ err: errorMessage(error) }, "follow-up of a Slack request failed"),
  });
  const clickWork = new FollowUps({
    concurrency: 8,
    onError: (error) => log.error({ err: errorMessage(error) }, "handling a click failed"),
  });
  app.command("/redis", async ({ command, ack, respond }) => {
    const outcome = commands.command(
      { text: command.text, user: command.user_id, channel: command.channel_id },
      async (content) => {
        await respond({ response_type: "ephemeral", replace_original: false, ...content }).catch(
          (error: unknown) => {
            log.warn({ err: errorMessage(error) }, "could not reply through response_url");
          },
        );
      },
    );
    if (outcome.after && !slowWork.addFor(command.user_id, outcome.after)) {
      log.info({ user: command.user_id }, "slash command refused: too many in progress");
      ops?.metrics.slashCommand(slashKind(command.text), "rate-limited");
      await ack({
        response_type: "ephemeral",
        text: `:hourglass: You already have ${SLOW_PER_USER} requests in progress (status, history or preflight); this one was not started. Try again when they have answered.`,
      });
      return;
    }
    await ack({ response_type: "ephemeral", ...outcome.ack });
    if (ops) {
      const kind = slashKind(command.text);
      ops.metrics.slashCommand(
        kind,
        outcome.after ? "accepted" : kind === "help" ? "answered" : "refused",
      );
    }
  });
  const onButton =
    (handler: ClickHandler) =>
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
      clickWork.add(() => handler(runId, body.user.id, channel));
    };
  app.action<BlockButtonAction>(ACTIONS.approve, onButton(clicks.approve));
  app.action<BlockButtonAction>(ACTIONS.reject, onButton(clicks.reject));
  app.action<BlockButtonAction>(ACTIONS.abort, onButton(clicks.abort));
  app.action<BlockButtonAction>(ACTIONS.resume, onButton(clicks.resume));
  app.action<BlockButtonAction>(ACTIONS.dismiss, onButton(clicks.dismiss));
  app.error(async (error) => {
    log.error({ err: errorMessage(error) }, "Bolt listener error");
  });

  const drained = () => Promise.all([slowWork.drained(), clickWork.drained()]);
  return {
    app,
    lifecycle,
    outbox,
    async idle() {
      await drained();
      await lifecycle.idle();
      await outbox.flush();
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
      await drained();
      await lifecycle.stop();
      await outbox.flush();
      await app.stop();
      await outbox.close();
    },
  };
}

/** The command's kind for metrics: a fixed set of labels, never the user's text. */
function slashKind(text: string): string {
  const parsed = parseSlashCommand(text);
  return parsed.ok ? parsed.command.kind : "invalid";
}
