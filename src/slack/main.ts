import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { bootstrap } from "../app/bootstrap.js";
import { openState, stateSettings } from "../app/state.js";
import { DEFAULT_INVENTORY_FILE, type Inventory, loadInventory } from "../config/inventory.js";
import { errorMessage } from "../errors.js";
import { createBotOps } from "../ops/bot-ops.js";
import { opsRoutes, startOpsServer } from "../ops/routes.js";
import { createSlackBot } from "./app.js";
import { checkSlackEnv, type SlackEnv } from "./env.js";

const USAGE = `usage: redis-failover-bot [--check-config]

Starts the Slack bot configured by the environment (and ./.env if present).
  --check-config  check the environment and the inventory, print every problem, exit 0 or 2
`;

/** Every problem with the environment and the inventory, reported together. */
async function readConfig(
  env: NodeJS.ProcessEnv,
): Promise<{ ok: true; env: SlackEnv; inventory: Inventory } | { ok: false; problems: string[] }> {
  const checked = checkSlackEnv(env);
  const problems = checked.ok ? [] : [...checked.problems];
  const path = env.INVENTORY_FILE || DEFAULT_INVENTORY_FILE;
  const inventory = await loadInventory(path, {
    howToPoint: "Set INVENTORY_FILE to the inventory's path",
  }).catch((error: unknown) => {
    problems.push(errorMessage(error));
    return undefined;
  });
  if (!checked.ok || !inventory) return { ok: false, problems };
  return { ok: true, env: checked.env, inventory };
}

/** `npm start` / `redis-failover-bot`: reads .env if present, checks the configuration, starts the bot. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  const unknown = args.filter((arg) => arg !== "--check-config");
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\n${USAGE}`);
    process.exit(2);
  }
  if (existsSync(".env")) process.loadEnvFile(".env");
  const config = await readConfig(process.env);
  if (!config.ok) {
    const count = config.problems.length;
    process.stderr.write(
      `the bot's configuration has ${count} problem${count === 1 ? "" : "s"} (see .env.example and inventory.example.yml):\n${config.problems.map((problem) => `  - ${problem.replaceAll("\n", "\n    ")}`).join("\n")}\n`,
    );
    process.exit(2);
  }
  const { env } = config;
  if (args.includes("--check-config")) {
    const clusters = [...config.inventory.clusters.keys()].join(", ");
    process.stdout.write(
      `configuration OK: ${env.mode === "socket" ? "Socket Mode" : `HTTP mode on port ${env.PORT}`}, inventory ${config.inventory.path} (clusters: ${clusters})\n`,
    );
    return;
  }
  const { engine, log, secrets } = await bootstrap({
    env: process.env,
    inventoryPath: env.INVENTORY_FILE,
    logLevel: env.LOG_LEVEL,
  }).catch((error: unknown) => {
    process.stderr.write(`${errorMessage(error)}\n`);
    process.exit(2);
  });
  // A promise nobody caught must not take a failover down with the bot: log it, keep running.
  process.on("unhandledRejection", (reason) => {
    log.error(
      { err: errorMessage(reason) },
      "unhandledRejection: a promise failed with nobody to catch it",
    );
  });
  const settings = stateSettings(process.env, engine.inventory.path);
  const { backend } = await openState({
    settings,
    inventory: engine.inventory,
    env: process.env,
    log,
    secrets,
  }).catch((error: unknown) => {
    process.stderr.write(
      `cannot open the bot's state (STATE_DIR / STATE_REDIS_URL): ${errorMessage(error)}\n`,
    );
    process.exit(2);
  });
  const ops = createBotOps({
    backend,
    inventory: engine.inventory,
    ...(settings.redisUrl ? {} : { stateDir: settings.stateDir }),
  });
  const bot = createSlackBot({
    env,
    engine,
    log,
    secrets,
    state: backend,
    journal: ops.journal,
    leaseMs: settings.leaseMs,
    ops,
  });
  ops.watchSlack(() => bot.slackReachable(), env.mode);
  // HTTP mode serves the routes on Bolt's receiver; Socket Mode has no listener of its own.
  let opsServer: Server | undefined;
  if (env.mode === "socket") {
    opsServer = await startOpsServer({ routes: opsRoutes(ops), port: env.PORT }).catch(
      (error: unknown) => {
        process.stderr.write(
          `cannot serve /healthz, /readyz and /metrics on PORT ${env.PORT}: ${errorMessage(error)}\n`,
        );
        process.exit(2);
      },
    );
    log.info({ port: env.PORT, paths: ["/healthz", "/readyz", "/metrics"] }, "ops endpoints up");
  }
  // First SIGTERM or SIGINT: drain, let runs finish (bounded), flush Slack writes (bounded),
  // keep the rest in the journal, exit 0. Any second signal: exit at once with 130.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
    // bot.stop() drains: /readyz turns 503 and new commands and clicks are refused at once.
    log.warn(
      {
        signal,
        runGraceSeconds: env.SHUTDOWN_RUN_GRACE_SECONDS,
        flushSeconds: env.SHUTDOWN_FLUSH_SECONDS,
      },
      "stopping: refusing new requests, letting running failovers finish (send again to exit now)",
    );
    try {
      await bot.stop({
        runGraceMs: env.SHUTDOWN_RUN_GRACE_SECONDS * 1000,
        flushMs: env.SHUTDOWN_FLUSH_SECONDS * 1000,
      });
      await backend.close();
      await engine.close();
      opsServer?.close();
    } catch (error) {
      log.error({ err: errorMessage(error) }, "stopping failed");
      process.exit(1);
    }
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  try {
    await bot.start();
  } catch (error) {
    log.fatal({ err: errorMessage(error) }, "the bot could not start");
    process.stderr.write(
      `the bot could not start: ${errorMessage(error)}\n(check SLACK_BOT_TOKEN and network access to Slack${env.SLACK_API_URL ? ` at ${env.SLACK_API_URL}` : ""})\n`,
    );
    process.exit(1);
  }
}

void main();
