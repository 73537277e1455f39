import type { Server } from "node:http";
import { App, type BlockButtonAction, SocketModeReceiver } from "@slack/bolt";
import type { Logger } from "pino";
import type { FailoverEngine } from "../engine/engine.js";
import { errorMessage } from "../errors.js";
import { type Ops, opsRoutes } from "../ops/routes.js";
import { countingFetch } from "../ops/slack-fetch.js";
import { RunLifecycle } from "../runs/lifecycle.js";
import { Watcher } from "../runs/watch.js";
import type { Secrets } from "../secrets.js";
import { RunCoordinator } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";
import { Approvers } from "./approvers.js";
import { FORM } from "./blocks/failover-form.js";
import { FENCE_ACTION } from "./blocks/watch-message.js";
import { boltLogger } from "./bolt-logger.js";
import { type ClickHandler, clickHandlers } from "./clicks.js";
import { SlashCommands } from "./commands.js";
import type { SlackEnv } from "./env.js";
import { FailoverModal } from "./failover-modal.js";
import { FollowUps } from "./follow-ups.js";
import { scrubContent } from "./outbox/content.js";
import { OutboxRedelivery } from "./outbox/redeliver.js";
import { SlackOutbox } from "./outbox.js";
import { parseSlashCommand } from "./parse-command.js";
import { Recovery } from "./recovery.js";
import { RunMessages } from "./run-messages.js";
import { ACTIONS, type MessageContent } from "./types.js";
import { fenceClickHandler } from "./watch-clicks.js";
import { WatchMessages } from "./watch-messages.js";

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
  /**
   * Stops: new commands and clicks are refused at once (Abort still works) and /readyz turns
   * 503, runs get `runGraceMs` to finish and then stop before their next step (left for Resume),
   * the outbox gets `flushMs` to send what is queued, and what it could not send is kept in the
   * journal for the next start or another instance. Both default to no limit.
   */
  stop(options?: StopOptions): Promise<StopReport>;
  /** True once stop() has begun. */
  isDraining(): boolean;
  /** Calls `listener` when stop() begins (at once if it already has). */
  onDrain(listener: () => void): void;
}

export interface StopOptions {
  runGraceMs?: number;
  flushMs?: number;
}

export interface StopReport {
  /** Runs were told to stop before their next step because the grace ran out. */
  parked: boolean;
  /** Slack writes kept in the journal for the next start. */
  kept: number;
  /** How long each phase took, in ms. */
  phases: { runs: number; flush: number; total: number };
}

/** What someone typing a command or clicking a button is told while the bot is stopping. */
export const RESTARTING_TEXT =
  ":hourglass_flowing_sand: The bot is restarting; nothing was done. Try again in a moment.";

/** Why a run stops before its next step when the run grace of a shutdown is over. */
const SHUTDOWN_REASON = "the bot stopped for a restart";

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
  /** How often a watched old master is probed (default 2 s). */
  watchIntervalMs?: number;
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
  const messages = new RunMessages({
    outbox,
    log,
    approversOf: (cluster) => options.engine.inventory.clusters.get(cluster)?.approvers ?? [],
  });
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
  let botName: Promise<string | undefined> | undefined;
  const commands: SlashCommands = new SlashCommands({
    engine: options.engine,
    lifecycle,
    messages,
    log,
    permalink: async (channel, ts) =>
      (await app.client.chat.getPermalink({ channel, message_ts: ts })).permalink,
    botName: () => {
      botName ??= app.client.auth.test().then(
        (identity) => identity.user,
        (error: unknown) => {
          botName = undefined;
          throw error;
        },
      );
      return botName;
    },
    openForm: (input, respond) => form.open(input, respond),
  });
  const form = new FailoverModal({
    inventory: options.engine.inventory,
    commands,
    log,
    openView: async (triggerId, view) => {
      await app.client.views.open({ trigger_id: triggerId, view });
    },
    reply: (target) => async (content) => {
      if (!target.responseUrl) {
        await outbox.postEphemeral(target.channel, target.user, content);
        return;
      }
      const scrubbed = scrubContent(content, options.secrets);
      await postToResponseUrl(target.responseUrl, scrubbed).catch((error: unknown) => {
        log.warn({ err: errorMessage(error) }, "could not reply through response_url");
      });
    },
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
  const watchMessages = new WatchMessages({
    outbox,
    journal: options.journal,
    engine: options.engine,
    log,
  });
  const watcher = new Watcher({
    engine: options.engine,
    journal: options.journal.store,
    decisions: options.state.decisions,
    locks: options.state.locks,
    observer: watchMessages,
    log,
    instance: coordinator.instance,
    intervalMs: options.watchIntervalMs ?? 2_000,
  });
  const fenceClick = fenceClickHandler({ lifecycle, watchMessages, outbox, log });

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
  let draining = false;
  const drainListeners: Array<() => void> = [];
  if (ops) drainListeners.push(() => ops.readiness.drain());
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
    const outcome = commands.command(
      {
        text: command.text,
        user: command.user_id,
        channel: command.channel_id,
        triggerId: command.trigger_id,
        responseUrl: command.response_url,
      },
      async (content) => {
        await respond({ response_type: "ephemeral", replace_original: false, ...content }).catch(
          (error: unknown) => {
            log.warn({ err: errorMessage(error) }, "could not reply through response_url");
          },
        );
      },
    );
    if (outcome.after && !slowWork.addFor(command.user_id, outcome.after)) {
      outcome.cancel?.();
      log.info({ user: command.user_id }, "slash command refused: too many in progress");
      ops?.metrics.slashCommand(slashKind(command.text), "rate-limited");
      await ack({
        response_type: "ephemeral",
        text: `:hourglass: You already have ${SLOW_PER_USER} requests in progress (status, history or preflight); this one was not started. Try again when they have answered.`,
      });
      return;
    }
    await (outcome.ack ? ack({ response_type: "ephemeral", ...outcome.ack }) : ack());
    // Not queued behind slow work: opening a form must use its trigger within 3 seconds.
    outcome
      .immediate?.()
      .catch((error: unknown) =>
        log.error({ err: errorMessage(error) }, "answering a slash command failed"),
      );
    if (ops) {
      const kind = slashKind(command.text);
      ops.metrics.slashCommand(
        kind,
        outcome.after ? "accepted" : kind === "help" || outcome.immediate ? "answered" : "refused",
      );
    }
  });
  app.view(FORM.callbackId, async ({ ack, body, view }) => {
    if (draining) {
      await ack({ response_action: "errors", errors: { [FORM.blocks.cluster]: RESTARTING_TEXT } });
      return;
    }
    const outcome = form.submit({
      user: body.user.id,
      privateMetadata: view.private_metadata,
      values: view.state.values as Parameters<FailoverModal["submit"]>[0]["values"],
    });
    if (!outcome.ok) {
      await ack({ response_action: "errors", errors: outcome.errors });
      return;
    }
    // The preflight notice goes first; what preflight answers comes after it.
    let noticed = () => {};
    const notice = new Promise<void>((resolve) => {
      noticed = resolve;
    });
    const after = async () => {
      await notice;
      await outcome.after();
    };
    if (!slowWork.addFor(body.user.id, after)) {
      outcome.cancel();
      await ack({
        response_action: "errors",
        errors: {
          [FORM.blocks.cluster]:
            `You already have ${SLOW_PER_USER} requests in progress (status, history or preflight); try again when they have answered.`,
        },
      });
      return;
    }
    try {
      await ack();
      await outcome.respond(outcome.ack);
    } finally {
      noticed();
    }
  });
  const onButton =
    (handler: ClickHandler, whileDraining = false) =>
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
      clickWork.add(() => handler(runId, body.user.id, channel));
    };
  app.action<BlockButtonAction>(ACTIONS.approve, onButton(clicks.approve));
  app.action<BlockButtonAction>(ACTIONS.reject, onButton(clicks.reject));
  app.action<BlockButtonAction>(
    ACTIONS.abort, // Abort is a safety control: it keeps working while the bot drains.
    onButton(clicks.abort, true),
  );
  app.action<BlockButtonAction>(ACTIONS.resume, onButton(clicks.resume));
  app.action<BlockButtonAction>(ACTIONS.dismiss, onButton(clicks.dismiss));
  app.action<BlockButtonAction>(FENCE_ACTION, async ({ ack, body, action }) => {
    await ack();
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (!action.value || !channel) return;
    if (draining) {
      void outbox.postEphemeral(channel, body.user.id, { text: RESTARTING_TEXT });
      return;
    }
    const runId = action.value;
    clickWork.add(() => fenceClick(runId, body.user.id, channel, body.message?.ts));
  });
  app.error(async (error) => {
    log.error({ err: errorMessage(error) }, "Bolt listener error");
  });

  const drained = () => Promise.all([slowWork.drained(), clickWork.drained()]);
  return {
    app,
    lifecycle,
    outbox,
    isDraining: () => draining,
    onDrain(listener) {
      if (draining) listener();
      else drainListeners.push(listener);
    },
    async idle() {
      await drained();
      await lifecycle.idle();
      await outbox.flush();
    },
    async start() {
      await app.init();
      // Before Recovery renders anything: a kept update is then overtaken by newer ones.
      await redelivery.start(options.recoveryIntervalMs ?? 5_000);
      recovery.start();
      watcher.start();
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
    async stop(stopOptions = {}) {
      const started = Date.now();
      draining = true;
      for (const listener of drainListeners.splice(0)) listener();
      await recovery.stop();
      await watcher.stop();
      await redelivery.stop();
      lifecycle.stopTimers();
      const runsDone = drained().then(() => lifecycle.idle());
      const parked = !(await within(runsDone, stopOptions.runGraceMs));
      if (parked) {
        log.warn(
          { graceMs: stopOptions.runGraceMs },
          "stopping: the run grace is over; runs stop before their next step and are left for Resume",
        );
        coordinator.stopBeforeNextStep(SHUTDOWN_REASON);
      }
      // Runs finish their step; records the state backend still refuses are given up.
      await drained();
      await lifecycle.stop();
      // Lets a finished run queue its summary before the outbox is flushed.
      await new Promise((resolve) => setImmediate(resolve));
      const runsMs = Date.now() - started;
      const stopping = app.stop();
      // Idle keep-alive connections would otherwise hold the port open until they time out.
      httpServer?.closeAllConnections();
      await stopping;
      const unsent = await outbox.shutdown(stopOptions.flushMs ?? Number.POSITIVE_INFINITY);
      const kept = await redelivery.persist(unsent);
      const total = Date.now() - started;
      const report = { parked, kept, phases: { runs: runsMs, flush: total - runsMs, total } };
      log.info(report, "stopped");
      return report;
    },
  };
}

/** The command's kind for metrics: a fixed set of labels, never the user's text. */
function slashKind(text: string): string {
  const parsed = parseSlashCommand(text);
  if (!parsed.ok) return "invalid";
  return parsed.command.kind === "failover-form" ? "failover" : parsed.command.kind;
}

/** An answer through a response_url (a form's answers reach the channel the command came from). */
async function postToResponseUrl(url: string, content: MessageContent): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ response_type: "ephemeral", replace_original: false, ...content }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`response_url answered HTTP ${response.status}`);
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
