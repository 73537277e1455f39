import type { RecordedResponse } from "./call-log.js";

/**
 * What the double does instead of serving a call:
 * - `{ status: 429, retryAfterSec }`: HTTP 429, `Retry-After` header, body `{ok:false, error:"ratelimited"}`.
 * - `{ status: 5xx }`: that HTTP status with a plain-text body.
 * - `{ error }`: HTTP 200 `{ok:false, error, ...extra}`, an ordinary platform error.
 * - `{ drop: true }`: the socket is destroyed after the request is read; no response at all.
 *   With `afterServing: true` the call takes effect first (the message is posted, say) and only
 *   the response is lost, as when a connection dies on the way back.
 */
export type Fault =
  | { status: 429; retryAfterSec: number }
  | { status: 500 | 502 | 503 | 504; body?: string }
  | { error: string; extra?: Record<string, unknown> }
  | { drop: true; afterServing?: boolean };

/** Matches every method (and the upload and response_url routes). */
export const ANY_METHOD = "*";

/** Fault and latency plans per method; `ANY_METHOD` entries apply after method-specific ones. */
export class FaultPlan {
  private readonly queued = new Map<string, Array<{ fault: Fault; left: number }>>();
  private readonly standing = new Map<string, Fault>();
  private readonly latencies = new Map<string, number>();

  failNext(method: string, fault: Fault, count = 1): void {
    const queue = this.queued.get(method) ?? [];
    queue.push({ fault, left: count });
    this.queued.set(method, queue);
  }

  failAll(method: string, fault: Fault): void {
    this.standing.set(method, fault);
  }

  setLatency(method: string, ms: number): void {
    if (ms > 0) this.latencies.set(method, ms);
    else this.latencies.delete(method);
  }

  /** Clears queued and standing faults (not latency) for one method, or all with no argument. */
  clear(method?: string): void {
    if (method === undefined) {
      this.queued.clear();
      this.standing.clear();
    } else {
      this.queued.delete(method);
      this.standing.delete(method);
    }
  }

  /** The fault for this call, consuming one use of a queued fault. */
  take(method: string): Fault | undefined {
    for (const key of [method, ANY_METHOD]) {
      const queue = this.queued.get(key);
      const head = queue?.[0];
      if (queue && head) {
        head.left -= 1;
        if (head.left <= 0) queue.shift();
        return head.fault;
      }
    }
    return this.standing.get(method) ?? this.standing.get(ANY_METHOD);
  }

  latency(method: string): number {
    return this.latencies.get(method) ?? this.latencies.get(ANY_METHOD) ?? 0;
  }
}

/** The response a fault produces; for a drop after serving, what was served but never sent. */
export function faultResponse(fault: Fault, served?: RecordedResponse): RecordedResponse {
  if ("drop" in fault) {
    return { status: 0, headers: {}, body: served?.body, fault, dropped: true };
  }
  if ("error" in fault) {
    return {
      status: 200,
      headers: {},
      body: { ok: false, error: fault.error, ...fault.extra },
      fault,
    };
  }
  if (fault.status === 429) {
    return {
      status: 429,
      headers: { "retry-after": String(fault.retryAfterSec) },
      body: { ok: false, error: "ratelimited" },
      fault,
    };
  }
  return { status: fault.status, headers: {}, body: fault.body ?? "Internal Server Error", fault };
}
