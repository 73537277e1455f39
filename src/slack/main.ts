import { existsSync } from "node:fs";
import { bootstrap } from "../app/bootstrap.js";
import { openState, stateSettings } from "../app/state.js";
import { errorMessage } from "../errors.js";
import { createSlackBot } from "./app.js";
import { readSlackEnv } from "./env.js";

/** `npm start`: reads .env if present, checks the configuration, starts the bot. */
async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  let env: ReturnType<typeof readSlackEnv>;
  try {
    env = readSlackEnv(process.env);
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n`);
    process.exit(2);
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
  const { backend, journal } = await openState({
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
  const bot = createSlackBot({
    env,
    engine,
    log,
    secrets,
    state: backend,
    journal,
    leaseMs: settings.leaseMs,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.warn(
      { signal },
      "stopping: waiting for running failovers to finish (send again to exit now)",
    );
    await bot.stop();
    await backend.close();
    await engine.close();
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
