import { type Logger, LogLevel } from "@slack/bolt";

export interface RecordingLogger extends Logger {
  /** Every line logged at any level, as "level: message". */
  readonly lines: string[];
}

/** A Bolt/WebClient logger that keeps lines in memory instead of printing them. */
export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  let level = LogLevel.DEBUG;
  const at =
    (name: string) =>
    (...msg: unknown[]) => {
      lines.push(
        `${name}: ${msg.map((m) => (m instanceof Error ? m.message : String(m))).join(" ")}`,
      );
    };
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
