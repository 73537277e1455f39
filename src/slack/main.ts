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
  const settings = stateSettings(process.env);
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
  // First SIGTERM or SIGINT: drain, let runs finish (bounded), flush Slack writes (bounded),
  // keep the rest in the journal, exit 0. Any second signal: exit at once with 130.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
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
