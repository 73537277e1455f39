import type { Inventory } from "../config/inventory.js";
import { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";
import { inventoryCheck, slackCheck, stateCheck } from "./checks.js";
import { countingJournal } from "./journal-metrics.js";
import { Metrics } from "./metrics.js";
import { Readiness } from "./readiness.js";
import type { Ops } from "./routes.js";

export interface BotOps extends Ops {
  /** The run journal to hand to the bot: it counts runs, steps and decisions as they are recorded. */
  journal: RunJournal;
  /** Adds the Slack check once the bot exists. */
  watchSlack(reachable: () => boolean, mode: "socket" | "http"): void;
}

/** Readiness checks and metrics for a bot over `backend` and `inventory`. */
export function createBotOps(options: {
  backend: StateBackend;
  inventory: Inventory;
  /** The file backend's directory (checked for writability); omitted for the Redis backend. */
  stateDir?: string;
  /** Default process metrics (off in tests that run several bots in one process). */
  defaultMetrics?: boolean;
}): BotOps {
  const { backend, inventory } = options;
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics ?? true });
  const clusters = [...inventory.clusters.keys()];
  metrics.watchLocks(clusters, (cluster) => backend.locks.holder(cluster));
  // Any cluster name will do: the read is the ping.
  const probeCluster = clusters[0] ?? "readyz";
  const readiness = new Readiness()
    .set("slack", () => {
      throw new Error("the bot has not started");
    })
    .set(
      "state",
      stateCheck({
        readLock: () => backend.locks.holder(probeCluster),
        ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
      }),
    )
    .set(
      "inventory",
      inventoryCheck(() => inventory.clusters.size),
    );
  return {
    metrics,
    readiness,
    journal: new RunJournal(countingJournal(backend.journal, metrics)),
    watchSlack(reachable, mode) {
      readiness.set("slack", slackCheck(reachable, mode));
    },
  };
}
