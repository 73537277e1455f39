import type { FetchFunction } from "@slack/web-api";
import type { Metrics } from "./metrics.js";

/**
 * A `fetch` for the Web API client that counts every call by method and result. It sees each
 * HTTP attempt, so an outbox retry counts as a second call, as it is one for Slack's limits.
 * Requests outside the API (the upload URL of files.uploadV2) count as method "file_upload".
 */
export function countingFetch(
  metrics: Metrics,
  apiUrl = "https://slack.com/api/",
  base: FetchFunction = globalThis.fetch as unknown as FetchFunction,
): FetchFunction {
  return async (url, init) => {
    const text = String(url);
    const method = text.startsWith(apiUrl)
      ? (text.slice(apiUrl.length).split(/[?#]/)[0] ?? "unknown")
      : "file_upload";
    let response: Awaited<ReturnType<FetchFunction>>;
    try {
      response = await base(url, init);
    } catch (error) {
      metrics.slackCall(method, "network_error");
      throw error;
    }
    metrics.slackCall(method, await resultOf(response, method));
    return response;
  };
}

async function resultOf(
  response: Awaited<ReturnType<FetchFunction>>,
  method: string,
): Promise<string> {
  if (response.status === 429) return "ratelimited";
  if (!response.ok || method === "file_upload") {
    return response.ok ? "ok" : `http_${response.status}`;
  }
  const clonable = response as unknown as { clone?: () => { json(): Promise<unknown> } };
  if (typeof clonable.clone !== "function") return "ok";
  try {
    const body = (await clonable.clone().json()) as { ok?: boolean; error?: string };
    return body.ok ? "ok" : (body.error ?? "error");
  } catch {
    return "unreadable_response";
  }
}
