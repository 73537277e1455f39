import { z } from "zod";
import { DEFAULT_INVENTORY_FILE } from "../config/inventory.js";
import { FailoverError } from "../errors.js";

/**
 * Every environment variable the bot reads, typed and documented in one place (.env.example
 * mirrors this). The names are a contract: deployment scripts set them.
 */
const APPS_PAGE = "https://api.slack.com/apps";

const envSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string({
      error: `SLACK_BOT_TOKEN is missing: the Bot User OAuth Token (xoxb-…) from OAuth & Permissions at ${APPS_PAGE}`,
    })
    .startsWith(
      "xoxb-",
      `SLACK_BOT_TOKEN must be a bot token starting with xoxb- (OAuth & Permissions at ${APPS_PAGE})`,
    ),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_APP_TOKEN: z
    .string()
    .startsWith(
      "xapp-",
      `SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, scope connections:write, at ${APPS_PAGE})`,
    )
    .optional(),
  PORT: z.coerce.number().int().min(0).max(65535, "PORT must be a TCP port number").default(3000),
  SLACK_API_URL: z.url("SLACK_API_URL must be a URL such as https://slack.com/api/").optional(),
  INVENTORY_FILE: z.string().min(1).default(DEFAULT_INVENTORY_FILE),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Minutes a plan waits for approval before it expires. */
  APPROVAL_TIMEOUT_MINUTES: z.coerce
    .number()
    .positive("APPROVAL_TIMEOUT_MINUTES must be a positive number")
    .default(15),
  /** Where the journal of runs is kept (embedded store). */
  STATE_DIR: z.string().min(1).default("./state"),
  /** A control-plane Redis for the journal and locks, shared by several bot instances. */
  STATE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "STATE_REDIS_URL must be a redis:// or rediss:// URL")
    .optional(),
  /** Seconds a cluster lock lives without renewal; a dead bot's run is offered for Resume after it. */
  LOCK_LEASE_SECONDS: z.coerce
    .number()
    .positive("LOCK_LEASE_SECONDS must be a positive number")
    .default(30),
  /** Seconds a stopping bot lets running failovers go on; then they stop before their next step. */
  SHUTDOWN_RUN_GRACE_SECONDS: z.coerce
    .number()
    .min(0, "SHUTDOWN_RUN_GRACE_SECONDS must be 0 or more")
    .default(15),
  /** Seconds a stopping bot spends sending queued Slack messages; the rest go to the journal. */
  SHUTDOWN_FLUSH_SECONDS: z.coerce
    .number()
    .min(0, "SHUTDOWN_FLUSH_SECONDS must be 0 or more")
    .default(5),
  /** "1" prints human-readable log lines (pino-pretty) instead of JSON. */
  LOG_PRETTY: z.enum(["0", "1"]).optional(),
});

export type SlackEnv = z.infer<typeof envSchema> & { mode: "socket" | "http" };

export function readSlackEnv(env: NodeJS.ProcessEnv): SlackEnv {
  const blank = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(blank);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `  - ${issue.message}`);
  if (parsed.success && !parsed.data.SLACK_APP_TOKEN && !parsed.data.SLACK_SIGNING_SECRET) {
    problems.push(
      `  - SLACK_SIGNING_SECRET is missing: without SLACK_APP_TOKEN (Socket Mode) the bot receives HTTP requests and must verify them with the Signing Secret (Basic Information → App Credentials at ${APPS_PAGE})`,
    );
  }
  if (!parsed.success || problems.length > 0) {
    throw new FailoverError(
      "CONFIG_INVALID",
      `the bot's configuration is incomplete (see .env.example):\n${problems.join("\n")}`,
    );
  }
  return { ...parsed.data, mode: parsed.data.SLACK_APP_TOKEN ? "socket" : "http" };
}
