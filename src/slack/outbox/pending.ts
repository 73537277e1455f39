import type { OutboxPendingRecord, OutboxTarget } from "../../state/types.js";
import type { MessageRef } from "../types.js";
import { type Job, PostJob, UpdateJob } from "./jobs.js";
import { PendingMessageRef } from "./message-ref.js";
import { UploadJob } from "./upload-job.js";

/**
 * The journal records for writes the outbox could not send before the bot stopped, in queue
 * order. An update of a message that is itself still waiting to be posted is folded into that
 * post; updates of one posted message keep only the latest content.
 */
export function pendingRecords(
  jobs: readonly Job[],
  context: { instance: string; at: number; newId: () => string },
): OutboxPendingRecord[] {
  const records: OutboxPendingRecord[] = [];
  const posts = new Map<MessageRef, OutboxPendingRecord & { write: { kind: "post" } }>();
  const updates = new Map<string, OutboxPendingRecord & { write: { kind: "update" } }>();
  const target = (ref: string | MessageRef | undefined): OutboxTarget | undefined => {
    if (ref === undefined) return undefined;
    if (typeof ref === "string") return { ts: ref };
    if (ref instanceof PendingMessageRef && ref.postedTs !== undefined) return { ts: ref.postedTs };
    const post = posts.get(ref);
    // A root never posted (given up): the outbox sends its replies to the channel.
    return post ? { pending: post.id } : undefined;
  };
  const base = (channel: string, run: { runId: string; cluster: string } | undefined) => ({
    type: "outbox-pending" as const,
    runId: run?.runId ?? "",
    ...(run ? { cluster: run.cluster } : {}),
    at: context.at,
    id: context.newId(),
    instance: context.instance,
    channel,
  });
  for (const job of jobs) {
    if (job instanceof PostJob) {
      const thread = target(job.thread);
      const record = {
        ...base(job.channel, job.ref.run),
        write: {
          kind: "post" as const,
          ...content(job.content),
          ...(thread ? { thread } : {}),
          ...(job.ref.run && job.thread === undefined ? { root: true } : {}),
        },
      };
      posts.set(job.ref, record);
      records.push(record);
    } else if (job instanceof UpdateJob) {
      const post = posts.get(job.ref);
      if (post) {
        Object.assign(post.write, { text: job.content.text, blocks: job.content.blocks });
        if (job.content.blocks === undefined) delete post.write.blocks;
        continue;
      }
      const message = target(job.ref);
      if (!message || !("ts" in message)) continue;
      const key = `${job.channel}/${message.ts}`;
      const earlier = updates.get(key);
      if (earlier) {
        earlier.write = { kind: "update", message, ...content(job.content) };
        continue;
      }
      const run = job.ref instanceof PendingMessageRef ? job.ref.run : undefined;
      const record = {
        ...base(job.channel, run),
        write: { kind: "update" as const, message, ...content(job.content) },
      };
      updates.set(key, record);
      records.push(record);
    } else if (job instanceof UploadJob) {
      const thread = target(job.thread);
      const run = job.thread instanceof PendingMessageRef ? job.thread.run : undefined;
      const { filename, title, content: bytes, initialComment } = job.file;
      records.push({
        ...base(job.channel, run),
        write: {
          kind: "upload",
          ...(thread ? { thread } : {}),
          filename,
          title,
          ...(typeof bytes === "string"
            ? { content: bytes, encoding: "utf8" as const }
            : { content: bytes.toString("base64"), encoding: "base64" as const }),
          ...(initialComment !== undefined ? { initialComment } : {}),
        },
      });
    }
  }
  return records;
}

function content(c: { text: string; blocks?: unknown[] }): { text: string; blocks?: unknown[] } {
  return { text: c.text, ...(c.blocks !== undefined ? { blocks: c.blocks } : {}) };
}
