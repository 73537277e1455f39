import type { Logger } from "pino";
import type { MessageRef, RequestState, RequestView } from "./types.js";

/** A failover request as the bot tracks it: the view the root message shows, plus where it lives. */
export interface FailoverRequest extends RequestView {
  channel: string;
  createdAt: number;
  /** The root (approval) message; the run's thread hangs off it. */
  root?: MessageRef;
  /** Set while running: the Abort button stops the run before its next step. */
  abort?: AbortController;
  expiryTimer?: NodeJS.Timeout;
}

const TRANSITIONS: Record<RequestState, readonly RequestState[]> = {
  "awaiting-approval": ["approved", "rejected", "expired"],
  approved: ["running", "failed"],
  running: ["succeeded", "failed", "aborted", "interrupted"],
  interrupted: ["approved"],
  "dry-run": [],
  rejected: [],
  expired: [],
  succeeded: [],
  failed: [],
  aborted: [],
};

export const TERMINAL_STATES: ReadonlySet<RequestState> = new Set([
  "dry-run",
  "rejected",
  "expired",
  "succeeded",
  "failed",
  "aborted",
]);

/**
 * Requests by run id. `transition` is the only way a state changes: it checks the move is
 * allowed from the current state and applies it synchronously, so two clicks racing for the
 * same decision cannot both win (the second finds the state already moved).
 */
export class RequestRegistry {
  readonly #requests = new Map<string, FailoverRequest>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log.child({ component: "requests" });
  }

  add(request: FailoverRequest): void {
    this.#requests.set(request.runId, request);
    this.#log.info(
      {
        runId: request.runId,
        cluster: request.cluster,
        state: request.state,
        requester: request.requester,
      },
      "request created",
    );
  }

  get(runId: string): FailoverRequest | undefined {
    return this.#requests.get(runId);
  }

  /** Moves a request to `to` if allowed from its current state; returns whether it did. */
  transition(runId: string, to: RequestState, patch: Partial<FailoverRequest> = {}): boolean {
    const request = this.#requests.get(runId);
    if (!request) return false;
    const from = request.state;
    if (!TRANSITIONS[from].includes(to)) {
      this.#log.info({ runId, from, to }, "transition refused");
      return false;
    }
    Object.assign(request, patch, { state: to });
    this.#log.info(
      { runId, from, to, by: patch.decidedBy ?? patch.approver },
      `request ${from} -> ${to}`,
    );
    return true;
  }

  all(): FailoverRequest[] {
    return [...this.#requests.values()];
  }

  /** The request still awaiting approval or running for this cluster, if any. */
  activeFor(cluster: string): FailoverRequest | undefined {
    for (const request of this.#requests.values()) {
      if (request.cluster === cluster && !TERMINAL_STATES.has(request.state)) return request;
    }
    return undefined;
  }
}
