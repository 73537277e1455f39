import { webApi } from "@slack/bolt";

const { ErrorCode } = webApi;

/** What a failed Web API call means for the next attempt. */
export type Verdict =
  /** 429, or `ratelimited` as a platform error: wait Retry-After (or back off if none). */
  | { kind: "rate-limited"; retryAfterMs: number | undefined; detail: string }
  /** HTTP 5xx and Slack's own transient errors: back off. */
  | { kind: "server"; detail: string }
  /** Timeouts and dropped connections: back off. */
  | { kind: "network"; detail: string }
  /** Slack refused the blocks or the size: retry once as text only. */
  | { kind: "content"; detail: string }
  /** Anything else (channel_not_found, invalid_auth, ...): retrying will not help. */
  | { kind: "fatal"; detail: string };

const CONTENT_ERRORS = new Set([
  "invalid_blocks",
  "invalid_blocks_format",
  "msg_blocks_too_long",
  "msg_too_long",
]);

/**
 * Platform errors Slack documents as transient on its side ("likely due to a transient issue",
 * "temporarily unavailable"). Retried like a 5xx: for a post a duplicate beats a lost message.
 */
const TRANSIENT_PLATFORM_ERRORS = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

export function classify(err: unknown): Verdict {
  const e = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return {
        kind: "rate-limited",
        retryAfterMs: seconds(e.retryAfter),
        detail: `HTTP 429, Retry-After ${String(e.retryAfter)}`,
      };
    case ErrorCode.HTTPError: {
      const status = Number(e.statusCode);
      const detail = `HTTP ${status}`;
      return status >= 500 || status === 408
        ? { kind: "server", detail }
        : { kind: "fatal", detail };
    }
    case ErrorCode.RequestError: {
      const original = e.original instanceof Error ? e.original : undefined;
      return {
        kind: "network",
        detail: original ? `${original.name}: ${original.message}` : "request error",
      };
    }
    case ErrorCode.PlatformError: {
      const data = (e.data ?? {}) as {
        error?: unknown;
        response_metadata?: { retryAfter?: unknown };
      };
      const code = String(data.error);
      if (code === "ratelimited" || code === "rate_limited") {
        return {
          kind: "rate-limited",
          retryAfterMs: seconds(data.response_metadata?.retryAfter),
          detail: code,
        };
      }
      if (CONTENT_ERRORS.has(code)) return { kind: "content", detail: code };
      if (TRANSIENT_PLATFORM_ERRORS.has(code)) return { kind: "server", detail: code };
      return { kind: "fatal", detail: code };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  // web-api answers a 429 whose Retry-After it cannot parse with a plain Error.
  if (/rate limit/i.test(message))
    return { kind: "rate-limited", retryAfterMs: undefined, detail: message };
  return { kind: "fatal", detail: message };
}

function seconds(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n * 1000 : undefined;
}
