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
  },
): Measurement {
  const o = median(ours);
  const b = median(baseline);
  const ratio = b === 0 ? (o === 0 ? 1 : Number.POSITIVE_INFINITY) : o / b;
  return {
    name,
    ours: round(o),
    baseline: round(b),
    ratio: round(ratio, 3),
    unit,
    runs: ours.length,
    baselineIs: details.baselineIs,
    goal: details.goal,
    met: details.met(o, b, ratio),
  };
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
