import { StringDecoder } from "node:string_decoder";

export const OUTPUT_CAP_BYTES = 1024 * 1024;

/**
 * Collects one output stream of a command: keeps the first `cap` bytes and forwards every
 * chunk, decoded as UTF-8 across chunk boundaries, to an optional live listener.
 */
export class OutputCollector {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #truncated = false;
  readonly #live: StringDecoder | undefined;

  constructor(
    private readonly onText?: (text: string) => void,
    private readonly cap = OUTPUT_CAP_BYTES,
  ) {
    this.#live = onText ? new StringDecoder("utf8") : undefined;
  }

  push(chunk: Buffer): void {
    const room = this.cap - this.#kept;
    if (chunk.length <= room) {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
    } else {
      if (room > 0) this.#chunks.push(chunk.subarray(0, room));
      this.#kept = this.cap;
      this.#truncated = true;
    }
    if (this.#live) {
      const text = this.#live.write(chunk);
      if (text !== "") this.onText?.(text);
    }
  }

  /** Flushes the live decoder and returns the kept text. */
  finish(): string {
    if (this.#live) {
      const rest = this.#live.end();
      if (rest !== "") this.onText?.(rest);
    }
    const decoder = new StringDecoder("utf8");
    const text = decoder.write(Buffer.concat(this.#chunks));
    // A cut at the cap may split a character: drop the partial bytes rather than emit U+FFFD.
    return this.#truncated ? text : text + decoder.end();
  }
}
