import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const METRICS_PREFIX = "redis_failover_";

/** How a run ended, as counted in runs_total. */
export type RunOutcome = "succeeded" | "failed" | "aborted" | "dry-run";

/** Who holds a cluster's lock now; undefined when it is free. */
export type LockHolderReader = (cluster: string) => Promise<unknown>;

/** Seconds buckets fit for steps (sub-second Redis commands up to long RDB copies). */
const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const RUN_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/**
 * The bot's Prometheus metrics, one method per fact. Owns its own registry (never prom-client's
 * global one), so several bots in one process (tests) do not collide.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #runs: Counter<"cluster" | "mode" | "outcome">;
  readonly #runDuration: Histogram<"mode" | "outcome">;
  readonly #stepDuration: Histogram<"mode" | "step" | "status">;
  readonly #slashCommands: Counter<"command" | "result">;
  readonly #decisions: Counter<"kind">;
  readonly #slackCalls: Counter<"method" | "result">;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
    }
    this.#runs = new Counter({
      name: `${METRICS_PREFIX}runs_total`,
      help: "Failover runs by cluster, mode and outcome (dry runs counted when planned)",
      labelNames: ["cluster", "mode", "outcome"],
      registers,
    });
    this.#runDuration = new Histogram({
      name: `${METRICS_PREFIX}run_duration_seconds`,
      help: "Wall time of a failover run, first step to last",
      labelNames: ["mode", "outcome"],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.#stepDuration = new Histogram({
      name: `${METRICS_PREFIX}step_duration_seconds`,
      help: "Wall time of one step by mode and step kind",
      labelNames: ["mode", "step", "status"],
      buckets: STEP_BUCKETS,
      registers,
    });
    this.#slashCommands = new Counter({
      name: `${METRICS_PREFIX}slash_commands_total`,
      help: "/redis commands by sub-command and result (accepted, answered, refused)",
      labelNames: ["command", "result"],
      registers,
    });
    this.#decisions = new Counter({
      name: `${METRICS_PREFIX}decisions_total`,
      help: "Decisions on requested runs by kind (approved, rejected, expired, resumed)",
      labelNames: ["kind"],
      registers,
    });
    this.#slackCalls = new Counter({
      name: `${METRICS_PREFIX}slack_api_calls_total`,
      help: "Slack Web API calls by method and result (ok, a Slack error code, http_<status> or network_error)",
      labelNames: ["method", "result"],
      registers,
    });
  }

  runFinished(cluster: string, mode: string, outcome: RunOutcome, seconds: number): void {
    this.#runs.inc({ cluster, mode, outcome });
    this.#runDuration.observe({ mode, outcome }, seconds);
  }

  /** A dry run ends when its plan is posted: counted, with no duration. */
  dryRunPlanned(cluster: string, mode: string): void {
    this.#runs.inc({ cluster, mode, outcome: "dry-run" });
  }

  /** `step` is the step's kind (snapshot, copy-rdb, …), never its free-text title. */
  stepFinished(mode: string, step: string, status: string, seconds: number): void {
    this.#stepDuration.observe({ mode, step, status }, seconds);
  }

  slashCommand(
    command: string,
    result: "accepted" | "answered" | "refused" | "rate-limited",
  ): void {
    this.#slashCommands.inc({ command, result });
  }

  decision(kind: string): void {
    this.#decisions.inc({ kind });
  }

  slackCall(method: string, result: string): void {
    this.#slackCalls.inc({ method, result });
  }

  /** Writes not yet sent or given up, read at each scrape. */
  watchOutboxDepth(depth: () => number): void {
    new Gauge({
      name: `${METRICS_PREFIX}outbox_queue_depth`,
      help: "Slack writes queued in the outbox, not yet sent or given up",
      registers: [this.registry],
      collect() {
        this.set(depth());
      },
    });
  }

  /**
   * 1 while a run holds the cluster's lock, read at each scrape. A read that fails or takes
   * longer than `timeoutMs` (a stopped state backend) leaves the cluster out of that scrape
   * rather than stalling it or reporting a guess.
   */
  watchLocks(clusters: readonly string[], holder: LockHolderReader, timeoutMs = 1_000): void {
    new Gauge({
      name: `${METRICS_PREFIX}lock_held`,
      help: "1 while a run holds the cluster's lock (omitted when the state backend does not answer)",
      labelNames: ["cluster"],
      registers: [this.registry],
      async collect() {
        this.reset();
        await Promise.all(
          clusters.map(async (cluster) => {
            const held = await withTimeout(holder(cluster), timeoutMs).then(
              (value) => (value === TIMED_OUT ? undefined : value !== undefined),
              () => undefined,
            );
            if (held !== undefined) this.set({ cluster }, held ? 1 : 0);
          }),
        );
      },
    });
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

const TIMED_OUT = Symbol("timed out");

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export { TIMED_OUT };
