import type { Fault } from "./faults.js";

export interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Set when the response came from fault injection. */
  fault?: Fault;
  /** The connection was destroyed instead of answered. */
  dropped?: boolean;
}

export interface RecordedCall {
  seq: number;
  /** Web API method ("chat.postMessage"), or `UPLOAD` / `RESPONSE_URL`. */
  method: string;
  token: string | undefined;
  /** Arguments as sent, with JSON-encoded fields (blocks, attachments, files) decoded. */
  args: Record<string, unknown>;
  contentType: string;
  receivedAt: number;
  respondedAt: number;
  response: RecordedResponse;
}

interface Waiter {
  method: string;
  predicate: (call: RecordedCall) => boolean;
  resolve: (call: RecordedCall) => void;
}

/** Every call the double answered, in order, and waiting for calls yet to come. */
export class CallLog {
  readonly calls: RecordedCall[] = [];
  private readonly waiters = new Set<Waiter>();

  record(call: Omit<RecordedCall, "seq">): void {
    const recorded = { seq: this.calls.length + 1, ...call };
    this.calls.push(recorded);
    for (const w of this.waiters) {
      if (w.method === recorded.method && w.predicate(recorded)) {
        this.waiters.delete(w);
        w.resolve(recorded);
      }
    }
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  waitFor(
    method: string,
    predicate: (call: RecordedCall) => boolean,
    timeoutMs: number,
  ): Promise<RecordedCall> {
    const seen = this.calls.find((c) => c.method === method && predicate(c));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        method,
        predicate,
        resolve: (call) => {
          clearTimeout(timer);
          resolve(call);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const got = this.callsTo(method).map((c) => JSON.stringify(c.args).slice(0, 200));
        reject(
          new Error(
            `no matching ${method} call within ${timeoutMs} ms; ${got.length} seen:\n${got.join("\n")}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  clear(): void {
    this.calls.length = 0;
  }
}
