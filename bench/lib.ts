import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** One row of bench/results/latest.json (medians over `runs`). */
export interface Measurement {
  name: string;
  ours: number;
  baseline: number;
  /** ours / baseline; for "lower is better" measurements, below 1 means ours is better. */
  ratio: number;
  unit: string;
  runs: number;
  /** What the baseline is, and the goal, for the table. */
  baselineIs: string;
  goal: string;
  met: boolean;
  /** Set when the baseline could not be measured: why. `baseline` and `ratio` are then null. */
  baselineFailed?: string;
}

/** One entry of bench/main.ts's list: a name (for BENCH_ONLY) and what it measures. */
export interface Scenario {
  name: string;
  run: () => Promise<Measurement | Measurement[]>;
}

/** A scenario that did not finish, recorded in the results instead of ending the bench. */
export interface ScenarioFailure {
  scenario: string;
  reason: string;
}

export const run = promisify(execFile);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
  );
}

export function measurement(
  name: string,
  ours: number[],
  baseline: number[],
  unit: string,
  details: {
    baselineIs: string;
    goal: string;
    met: (ours: number, baseline: number, ratio: number) => boolean;
    /** Why the baseline has no figure (it failed); the measurement is then not met. */
    baselineFailed?: string | undefined;
  },
): Measurement {
  const o = median(ours);
  const b = median(baseline);
  const ratio = b === 0 ? (o === 0 ? 1 : Number.POSITIVE_INFINITY) : o / b;
  const failed = details.baselineFailed;
  return {
    name,
    ours: round(o),
    baseline: round(b),
    ratio: round(ratio, 3),
    unit,
    runs: ours.length,
    baselineIs: details.baselineIs,
    goal: details.goal,
    met: failed === undefined && details.met(o, b, ratio),
    ...(failed === undefined ? {} : { baselineFailed: failed }),
  };
}

/**
 * Runs `work` for a baseline; a failure is logged and returned as its reason (the caller
 * reports the baseline as failed and keeps its own figures) instead of thrown.
 */
export async function baselineRun<T>(
  what: string,
  work: () => Promise<T>,
): Promise<{ value: T } | { failed: string }> {
  try {
    return { value: await work() };
  } catch (error) {
    const reason = reasonOf(error);
    log(`${what} failed: ${reason}`);
    return { failed: reason };
  }
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function log(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** Wall time of `work` in milliseconds. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs each scenario on its own: one that throws, rejects or runs past `timeoutMs` is recorded
 * as a failure with its reason, and the next one runs. A stray rejection or exception (a
 * promise nobody awaited) is recorded against the scenario running at the time, never fatal.
 */
export async function runScenarios(
  scenarios: Scenario[],
  options: { timeoutMs: number },
): Promise<{ measurements: Measurement[]; failures: ScenarioFailure[] }> {
  const measurements: Measurement[] = [];
  const failures: ScenarioFailure[] = [];
  let current = "(between scenarios)";
  const stray = (kind: string) => (error: unknown) => {
    log(`${kind} during ${current}: ${reasonOf(error)}`);
    failures.push({ scenario: current, reason: `${kind}: ${reasonOf(error)}` });
  };
  const onRejection = stray("unhandled rejection");
  const onException = stray("uncaught exception");
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  try {
    for (const scenario of scenarios) {
      current = scenario.name;
      log(`${scenario.name}: starting`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`did not finish within ${Math.round(options.timeoutMs / 1000)} s`)),
          options.timeoutMs,
        );
      });
      try {
        measurements.push(...[await Promise.race([scenario.run(), timeout])].flat());
      } catch (error) {
        log(`${scenario.name} FAILED: ${reasonOf(error)}`);
        failures.push({ scenario: scenario.name, reason: reasonOf(error) });
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    current = "(after the scenarios)";
  }
  return { measurements, failures };
}
