import { z } from "zod";
import { DEFAULT_INVENTORY_FILE } from "../config/inventory.js";
import { FailoverError } from "../errors.js";

/**
 * Every environment variable the bot reads, typed and documented in one place (.env.example
 * mirrors this). The names are a contract: deployment scripts set them.
 */
const APPS_PAGE = "https://api.slack.com/apps";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

function quote(input: unknown): string {
  return JSON.stringify(String(input));
}

function positiveNumber(name: string, unit: string, fallback: number) {
  const message = (issue: { input?: unknown }) =>
    `${name} must be a positive number of ${unit} (got ${quote(issue.input)}); unset it for ${fallback}`;
  return z
    .string()
    .refine((text) => text.trim() !== "" && Number.isFinite(Number(text)) && Number(text) > 0, {
      error: message,
    })
    .transform(Number)
    .default(fallback);
}

function nonNegativeNumber(name: string, unit: string, fallback: number) {
  const message = (issue: { input?: unknown }) =>
    `${name} must be 0 or a positive number of ${unit} (got ${quote(issue.input)}); unset it for ${fallback}`;
  return z
    .string()
    .refine((text) => text.trim() !== "" && Number.isFinite(Number(text)) && Number(text) >= 0, {
      error: message,
    })
    .transform(Number)
    .default(fallback);
}

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
  PORT: z
    .string()
    .refine((text) => /^\d{1,5}$/.test(text) && Number(text) <= 65535, {
      error: (issue) =>
        `PORT must be a TCP port number from 0 to 65535 (got ${quote(issue.input)}); unset it for 3000`,
    })
    .transform(Number)
    .default(3000),
  SLACK_API_URL: z.url("SLACK_API_URL must be a URL such as https://slack.com/api/").optional(),
  INVENTORY_FILE: z.string().min(1).default(DEFAULT_INVENTORY_FILE),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, {
      error: (issue) =>
        `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got ${quote(issue.input)}); unset it for "info"`,
    })
    .default("info"),
  /** Minutes a plan waits for approval before it expires. */
  APPROVAL_TIMEOUT_MINUTES: positiveNumber("APPROVAL_TIMEOUT_MINUTES", "minutes", 15),
  /**
   * Where the journal of runs is kept (embedded store). Unset: $XDG_STATE_HOME/redis-failover;
   * relative: from the inventory file's directory (src/app/state.ts decides, for the CLI too).
   */
  STATE_DIR: z.string().min(1).optional(),
  /** A control-plane Redis for the journal and locks, shared by several bot instances. */
  STATE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "STATE_REDIS_URL must be a redis:// or rediss:// URL")
    .optional(),
  /** Seconds a cluster lock lives without renewal; a dead bot's run is offered for Resume after it. */
  LOCK_LEASE_SECONDS: positiveNumber("LOCK_LEASE_SECONDS", "seconds", 30),
  /** Seconds a stopping bot lets running failovers go on; then they stop before their next step. */
  SHUTDOWN_RUN_GRACE_SECONDS: nonNegativeNumber("SHUTDOWN_RUN_GRACE_SECONDS", "seconds", 15),
  /** Seconds a stopping bot spends sending queued Slack messages; the rest go to the journal. */
  SHUTDOWN_FLUSH_SECONDS: nonNegativeNumber("SHUTDOWN_FLUSH_SECONDS", "seconds", 5),
  /** "1" prints human-readable log lines (pino-pretty) instead of JSON. */
  LOG_PRETTY: z
    .enum(["0", "1"], {
      error: (issue) => `LOG_PRETTY must be 0 or 1 (got ${quote(issue.input)})`,
    })
    .optional(),
});

export type SlackEnv = z.infer<typeof envSchema> & { mode: "socket" | "http" };

/** Every problem with the environment at once (one line each, naming the variable), or the typed env. */
export function checkSlackEnv(
  env: NodeJS.ProcessEnv,
): { ok: true; env: SlackEnv } | { ok: false; problems: string[] } {
  const blank = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(blank);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  if (!blank.SLACK_APP_TOKEN && !blank.SLACK_SIGNING_SECRET) {
    problems.push(
      `SLACK_SIGNING_SECRET is missing: without SLACK_APP_TOKEN (Socket Mode) the bot receives HTTP requests and must verify them with the Signing Secret (Basic Information → App Credentials at ${APPS_PAGE})`,
    );
  }
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    env: { ...parsed.data, mode: parsed.data.SLACK_APP_TOKEN ? "socket" : "http" },
  };
}

export function readSlackEnv(env: NodeJS.ProcessEnv): SlackEnv {
  const checked = checkSlackEnv(env);
  if (!checked.ok) {
    throw new FailoverError(
      "CONFIG_INVALID",
      `the bot's configuration is incomplete (see .env.example):\n${checked.problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
  }
  return checked.env;
}
