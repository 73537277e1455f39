import type { MessageRef } from "../types.js";
import { preview } from "./content.js";
import { Job, type JobContext } from "./jobs.js";
import type { UploadFile } from "./upload-file.js";

export type { UploadFile };

/**
 * filesUploadV2 reserves an upload URL, sends the bytes, then shares the file. A retry starts
 * over; an upload that was never completed is not shared, so only a lost answer to the last
 * step can show the file twice.
 */
export class UploadJob extends Job {
  readonly method = "files.uploadV2";
  override readonly canFallBack = false;
  #threadTs: string | undefined;

  constructor(
    channel: string,
    deadline: number,
    ctx: JobContext,
    readonly thread: string | MessageRef | undefined,
    readonly file: UploadFile,
  ) {
    super(channel, deadline, ctx);
  }

  preview(): string {
    return preview(`${this.file.filename}: ${this.file.title}`);
  }

  override async prepare(): Promise<boolean> {
    this.#threadTs = await this.threadTs(this.thread);
    return true;
  }

  async send(): Promise<void> {
    const { filename, title, content, initialComment } = this.file;
    const destination =
      this.#threadTs === undefined
        ? { channel_id: this.channel }
        : { channel_id: this.channel, thread_ts: this.#threadTs };
    await this.ctx.client.filesUploadV2({
      ...destination,
      filename,
      title,
      ...(typeof content === "string" ? { content } : { file: content }),
      ...(initialComment !== undefined && { initial_comment: initialComment }),
    });
  }
}
