import { createLogger, type Logger } from "../../src/log/logger.js";
import { Secrets } from "../../src/secrets.js";
import type { JournalRecord } from "../../src/state/types.js";

/** A logger writing parsed lines into an array. */
export function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    secrets: new Secrets(),
    level: "debug",
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { log, lines };
}

/** The warnings among captured lines, as their messages. */
export function warnings(lines: Array<Record<string, unknown>>): string[] {
  return lines.filter((line) => line.level === 40).map((line) => String(line.msg));
}

// Captured before any test fakes timers: sleeps in tests must take real time.
const realSetTimeout = globalThis.setTimeout;
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/** Polls with real time until `condition` holds, else throws naming `what`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function requested(
  runId: string,
  at: number,
  extra: { output?: string } = {},
): JournalRecord {
  return {
    type: "requested",
    runId,
    cluster: "cache-eu",
    at,
    requester: "U123",
    source: "slack",
    dryRun: false,
    // The plan's shape does not matter to the store: it is stored and returned as is.
    plan: { note: extra.output ?? "plan" } as unknown as Extract<
      JournalRecord,
      { type: "requested" }
    >["plan"],
  };
}

export function stepFinished(runId: string, at: number, index: number): JournalRecord {
  return {
    type: "step-finished",
    runId,
    cluster: "cache-eu",
    at,
    index,
    status: "ok",
    durationMs: 12,
    output: 'line one\nline two with ünïcødé and "quotes"',
    warnings: [],
    facts: {},
  };
}
