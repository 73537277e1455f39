import { randomUUID } from "node:crypto";
import type { KnownBlock } from "@slack/types";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../log/logger.js";
import { PeriodicScan } from "../../state/periodic-scan.js";
import type {
  Decisions,
  JournalStore,
  OutboxDeliveredRecord,
  OutboxPendingRecord,
  OutboxTarget,
} from "../../state/types.js";
import type { SlackOutbox } from "../outbox.js";
import type { MessageContent, MessageRef } from "../types.js";
import type { Job } from "./jobs.js";
import { pendingRecords } from "./pending.js";

const CLAIM_TTL_MS = 7 * 24 * 3600_000;

export interface RedeliveryOptions {
  outbox: SlackOutbox;
  journal: JournalStore;
  decisions: Decisions;
  log: Logger;
  instance: string;
}

/**
 * What a stopping bot could not send is kept in the journal (outbox-pending); the next start,
 * or another instance, sends each such write exactly once: it claims the write first (first
 * writer wins across instances), sends it through its own outbox, and records the outcome
 * (outbox-delivered). A root message posted this way gets its run's `posted` record.
 */
export class OutboxRedelivery {
  readonly #options: RedeliveryOptions;
  readonly #log: Logger;
  /** Writes this instance claimed, with the ref of each post (replies and updates need it). */
  readonly #mine = new Map<string, MessageRef | undefined>();
  readonly #scanner: PeriodicScan;

  constructor(options: RedeliveryOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: "outbox-redelivery" });
    this.#scanner = new PeriodicScan({
      pass: () => this.#scan(),
      log: this.#log,
      failure: "cannot redeliver kept Slack writes",
    });
  }

  /** Records the writes `SlackOutbox.shutdown` returned; returns how many records. */
  async persist(jobs: readonly Job[]): Promise<number> {
    const records = pendingRecords(jobs, {
      instance: this.#options.instance,
      at: Date.now(),
      newId: () => randomUUID(),
    });
    for (const record of records) await this.#options.journal.append(record);
    if (records.length > 0) {
      this.#log.warn(
        { writes: records.length },
        "Slack writes not delivered before stopping were kept in the journal for the next start",
      );
    }
    return records.length;
  }

  /**
   * Scans now, then every `intervalMs` (writes left by an instance that stops meanwhile);
   * resolves when the first scan is done.
   */
  start(intervalMs: number): Promise<void> {
    return this.#scanner.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#scanner.stop();
  }

  /** One pass over the journal; concurrent calls share the pass in progress. */
  scan(): Promise<void> {
    return this.#scanner.run();
  }

  async #scan(): Promise<void> {
    const pending: OutboxPendingRecord[] = [];
    const done = new Map<string, OutboxDeliveredRecord>();
    for (const record of await this.#options.journal.read()) {
      if (record.type === "outbox-pending") pending.push(record);
      else if (record.type === "outbox-delivered") done.set(record.id, record);
    }
    const open = pending.filter((record) => !done.has(record.id) && !this.#mine.has(record.id));
    if (open.length === 0) return;
    // Of several updates of one message, only the latest is sent.
    const latest = new Map<string, string>();
    for (const record of open) {
      if (record.write.kind === "update" && "ts" in record.write.message)
        latest.set(`${record.channel}/${record.write.message.ts}`, record.id);
    }
    for (const record of open) {
      const write = record.write;
      const superseded =
        write.kind === "update" &&
        "ts" in write.message &&
        latest.get(`${record.channel}/${write.message.ts}`) !== record.id;
      const target = (t: OutboxTarget | undefined): MessageRef | string | undefined | null => {
        if (t === undefined) return undefined;
        if ("ts" in t) return t.ts;
        return this.#mine.get(t.pending) ?? done.get(t.pending)?.ts ?? null;
      };
      const thread = write.kind === "update" ? target(write.message) : target(write.thread);
      // Hangs off a post another instance is still sending: left for a later pass.
      if (thread === null) continue;
      if (
        !(await this.#options.decisions.claim(
          `outbox:${record.id}`,
          this.#options.instance,
          CLAIM_TTL_MS,
        ))
      )
        continue;
      if (superseded) {
        this.#mine.set(record.id, undefined);
        await this.#delivered(record, "superseded");
        continue;
      }
      this.#deliver(record, thread);
    }
  }

  #deliver(record: OutboxPendingRecord, thread: MessageRef | string | undefined): void {
    const { outbox } = this.#options;
    const write = record.write;
    const settle = (sent: boolean, ts?: string) =>
      this.#delivered(record, sent ? "sent" : outbox.closed ? "requeued" : "gave-up", ts);
    this.#log.info(
      { id: record.id, kind: write.kind, channel: record.channel, runId: record.runId },
      "redelivering a Slack write kept by a stopped bot",
    );
    switch (write.kind) {
      case "post": {
        const run =
          write.root && record.cluster
            ? { runId: record.runId, cluster: record.cluster }
            : undefined;
        const ref = outbox.post(record.channel, message(write), {
          ...(thread !== undefined ? { threadTs: thread } : {}),
          ...(run ? { run } : {}),
        });
        this.#mine.set(record.id, ref);
        ref.ts().then(
          async (ts) => {
            if (run) await this.#posted(record, run, ts);
            await settle(true, ts);
          },
          () => settle(false),
        );
        return;
      }
      case "update": {
        this.#mine.set(record.id, undefined);
        const ref = typeof thread === "string" ? outbox.existing(record.channel, thread) : thread;
        if (!ref) return void settle(false);
        void outbox.update(ref, message(write)).then((sent) => settle(sent));
        return;
      }
      case "upload": {
        this.#mine.set(record.id, undefined);
        const content =
          write.encoding === "base64" ? Buffer.from(write.content, "base64") : write.content;
        void outbox
          .upload(record.channel, thread, {
            filename: write.filename,
            title: write.title,
            content,
            ...(write.initialComment !== undefined ? { initialComment: write.initialComment } : {}),
          })
          .then((sent) => settle(sent));
        return;
      }
    }
  }

  async #posted(
    record: OutboxPendingRecord,
    run: { runId: string; cluster: string },
    ts: string,
  ): Promise<void> {
    await this.#options.journal
      .append({
        type: "posted",
        runId: run.runId,
        cluster: run.cluster,
        at: Date.now(),
        channel: record.channel,
        ts,
      })
      .catch((error: unknown) =>
        this.#log.error(
          { err: errorMessage(error) },
          "journal: could not record the posted message",
        ),
      );
  }

  async #delivered(
    record: OutboxPendingRecord,
    outcome: OutboxDeliveredRecord["outcome"],
    ts?: string,
  ): Promise<void> {
    await this.#options.journal
      .append({
        type: "outbox-delivered",
        runId: record.runId,
        at: Date.now(),
        id: record.id,
        instance: this.#options.instance,
        outcome,
        ...(ts !== undefined ? { ts } : {}),
      })
      .catch((error: unknown) =>
        this.#log.error(
          { id: record.id, outcome, err: errorMessage(error) },
          "journal: could not record a redelivered Slack write",
        ),
      );
  }
}

function message(write: { text: string; blocks?: unknown[] }): MessageContent {
  return {
    text: write.text,
    ...(write.blocks !== undefined ? { blocks: write.blocks as KnownBlock[] } : {}),
  };
}
