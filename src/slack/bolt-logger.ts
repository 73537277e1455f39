import { LogLevel, type Logger as SlackLogger } from "@slack/logger";
import type { Logger } from "pino";

/** Bolt and its Web API client log through the bot's pino logger (so through its redaction too). */
export function boltLogger(log: Logger): SlackLogger {
  let child = log.child({ component: "bolt" });
  let level = LogLevel.INFO;
  const write =
    (method: "debug" | "info" | "warn" | "error") =>
    (...messages: unknown[]) => {
      // Bolt logs at debug on every request: skip the formatting unless the line is wanted.
      if (!child.isLevelEnabled(method)) return;
      child[method](
        messages
          .map((message) =>
            message instanceof Error
              ? message.message
              : typeof message === "string"
                ? message
                : JSON.stringify(message),
          )
          .join(" "),
      );
    };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    setLevel(next) {
      level = next;
    },
    getLevel() {
      return level;
    },
    setName(name) {
      child = log.child({ component: name });
    },
  };
}
