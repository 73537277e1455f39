import { type DestinationStream, type Logger, pino } from "pino";
import type { Secrets } from "../secrets.js";

export type { Logger };

export interface LoggerOptions {
  level?: string;
  secrets: Secrets;
  /** Where lines go; defaults to stderr so that stdout stays free for command output. */
  destination?: DestinationStream;
  /** Human-readable lines (pino-pretty) instead of JSON, for development. */
  pretty?: boolean;
}

/** Field names that must never be logged, whatever their value. */
const REDACT_PATHS = [
  "password",
  "*.password",
  "passphrase",
  "*.passphrase",
  "privateKey",
  "*.privateKey",
  "token",
  "*.token",
  "signingSecret",
  "*.signingSecret",
  "authorization",
  "*.authorization",
  "headers.authorization",
];

export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination ??
    (options.pretty
      ? pino.transport({ target: "pino-pretty", options: { destination: 2, colorize: true } })
      : pino.destination({ dest: 2, sync: true }));
  return pino(
    {
      level: options.level ?? "info",
      base: { app: "redis-failover-bot" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      hooks: { streamWrite: (line) => options.secrets.scrub(line) },
    },
    destination,
  );
}
