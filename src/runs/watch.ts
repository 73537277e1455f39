import type { FailoverEngine } from "../engine/engine.js";
import type { OldMasterProbe } from "../engine/watch-probe.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { PeriodicScan } from "../state/periodic-scan.js";
import type { ClusterLocks, Decisions, JournalStore, WatchRecord } from "../state/types.js";
import { currentMaster, replayWatches, type WatchHistory } from "../state/watches.js";
import { DECISION_TTL_MS } from "./context.js";

export type AnsweringProbe = Extract<OldMasterProbe, { answers: true }>;

/** What a front end shows of watches: told by the watcher, never asked back. */
export interface WatchObserver {
  /** The host answers again (the n-th time), still not following the current master. */
  returned(watch: WatchHistory, probe: AnsweringProbe, n: number): void;
  /** The host answered, and is silent again. */
  silent(watch: WatchHistory): void;
  /** The watch ended (fenced, or found following the current master). */
  ended(watch: WatchHistory & { ended: NonNullable<WatchHistory["ended"]> }): void;
}

export interface WatcherOptions {
  engine: FailoverEngine;
  journal: JournalStore;
  decisions: Decisions;
  /** A run holding the cluster (a fence under way) records its own outcome. */
  locks: ClusterLocks;
  observer: WatchObserver;
  log: Logger;
  /** This process's name in the journal. */
  instance: string;
  /** How often each watched host is probed (one probe in flight per host). */
  intervalMs: number;
  now?: () => number;
}

/**
 * Keeps watching old masters that runs could not fence, for as long as the journal says they
 * are watched: each is probed every few seconds, one probe in flight at a time. A return, a
 * silence and an end are each recorded and told once, whichever instance sees them first
 * (first-writer-wins claims, as the outbox does), so a restart or a second instance never
 * says it twice.
 */
export class Watcher {
  readonly #options: WatcherOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #probing = new Map<string, Promise<void>>();
  /** Watches seen open by this process: their end is told when it is seen. */
  readonly #open = new Set<string>();
  readonly #scan: PeriodicScan;
  #stopped = false;

  constructor(options: WatcherOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: "watch" });
    this.#now = options.now ?? Date.now;
    this.#scan = new PeriodicScan({
      pass: () => this.#tick(),
      log: this.#log,
      failure: "watch pass failed",
    });
  }

  start(): void {
    void this.#scan.start(this.#options.intervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#scan.stop();
    await Promise.allSettled([...this.#probing.values()]);
  }

  /** One pass: read the watches from the journal, start a probe for each open one not being probed. */
  tick(): Promise<void> {
    return this.#scan.run();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const records = await this.#options.journal.read();
    for (const recorded of replayWatches(records).values()) {
      const watch = { ...recorded, newMaster: currentMaster(records, recorded) };
      if (watch.ended) {
        if (this.#open.delete(watch.runId) && (await this.#claim(watch, "told-end")))
          this.#options.observer.ended({ ...watch, ended: watch.ended });
        continue;
      }
      this.#open.add(watch.runId);
      if (this.#probing.has(watch.runId) || this.#stopped) continue;
      if (!this.#options.engine.inventory.clusters.has(watch.cluster)) {
        this.#warnOnce(watch, `cluster ${watch.cluster} is no longer in the inventory: not probed`);
        continue;
      }
      const probe = this.#probe(watch)
        .catch((error: unknown) =>
          this.#warnOnce(watch, `watch probe failed: ${errorMessage(error)}`),
        )
        .finally(() => this.#probing.delete(watch.runId));
      this.#probing.set(watch.runId, probe);
    }
  }

  async #probe(watch: WatchHistory): Promise<void> {
    const probe = await this.#options.engine.probeOldMaster(
      watch.cluster,
      watch.host.name,
      watch.newMaster,
    );
    this.#log.debug({ runId: watch.runId, host: watch.host.name, probe }, "watch probe");
    if (probe.answers && probe.followsCurrent) {
      // Mid-fence the host already follows the new master: the fence step's record ends the watch.
      if (await this.#options.locks.holder(watch.cluster)) return;
      // Not claimed: a second instance's identical end record changes nothing on replay.
      await this.#record(watch, {
        type: "watch-ended",
        reason: "replica",
        detail: `${watch.host.name} answers as a replica of the current master ${watch.newMaster.name}: nothing left to fence`,
      });
      return;
    }
    if (probe.answers && !watch.answering) {
      const n = watch.returns + 1;
      if (!(await this.#claim(watch, `return:${n}`))) return;
      this.#log.warn(
        { runId: watch.runId, host: watch.host.name, n },
        "watched old master answers again",
      );
      await this.#record(watch, {
        type: "watch-returned",
        n,
        summary: probe.returned?.summary ?? probe.problem ?? "",
        by: this.#options.instance,
      }).catch((error: unknown) =>
        this.#log.error({ err: errorMessage(error) }, "the return could not be recorded"),
      );
      this.#options.observer.returned(watch, probe, n);
      return;
    }
    if (!probe.answers && watch.answering) {
      if (!(await this.#claim(watch, `silent:${watch.returns}`))) return;
      await this.#record(watch, {
        type: "watch-silent",
        n: watch.returns,
        by: this.#options.instance,
      }).catch((error: unknown) =>
        this.#log.error({ err: errorMessage(error) }, "the silence could not be recorded"),
      );
      this.#options.observer.silent(watch);
    }
  }

  readonly #warned = new Set<string>();

  /** Logs a problem of a watch once, not on every probe. */
  #warnOnce(watch: WatchHistory, message: string): void {
    const key = `${watch.runId}\n${message}`;
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#log.warn({ runId: watch.runId, host: watch.host.name }, message);
  }

  #claim(watch: WatchHistory, what: string): Promise<boolean> {
    return this.#options.decisions.claim(
      `watch:${watch.runId}:${what}`,
      this.#options.instance,
      DECISION_TTL_MS,
    );
  }

  #record(
    watch: WatchHistory,
    record: DistributiveOmit<WatchRecord, "runId" | "cluster" | "at" | "host">,
  ): Promise<void> {
    return this.#options.journal.append({
      ...record,
      runId: watch.runId,
      cluster: watch.cluster,
      at: this.#now(),
      host: watch.host.name,
    } as WatchRecord);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
