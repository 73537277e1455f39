import { webApi } from "@slack/bolt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SlackDouble, startSlackDouble, UPLOAD } from "./index.js";
import { recordingLogger } from "./recording-logger.js";

const {
  WebClient,
  WebClientEvent,
  ErrorCode,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} = webApi;
type ClientOptions = NonNullable<ConstructorParameters<typeof WebClient>[1]>;

const CH = "C0FAULTS01";
let double: SlackDouble;

function client(options: ClientOptions = {}) {
  return new WebClient(double.botToken, {
    slackApiUrl: double.apiUrl,
    retryConfig: { retries: 0 },
    logger: recordingLogger(),
    ...options,
  });
}

const post = (c: ReturnType<typeof client>, text = "hello") =>
  c.chat.postMessage({ channel: CH, text });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
}

beforeEach(async () => {
  double = await startSlackDouble();
});

afterEach(async () => {
  await double.close();
});

describe("rate limits (429 + Retry-After)", () => {
  it("rejectRateLimitedCalls: WebAPIRateLimitedError carries retryAfter; the event fires", async () => {
    double.failNext("chat.postMessage", { status: 429, retryAfterSec: 7 });
    const c = client({ rejectRateLimitedCalls: true });
    const events: number[] = [];
    c.on(WebClientEvent.RATE_LIMITED, (sec: number) => events.push(sec));

    const err = await rejection(post(c));
    expect(err).toBeInstanceOf(WebAPIRateLimitedError);
    expect(err).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(events).toEqual([7]);

    const [call] = double.callsTo("chat.postMessage");
    expect(call?.response).toMatchObject({
      status: 429,
      headers: { "retry-after": "7" },
      body: { ok: false, error: "ratelimited" },
    });
    expect(double.messages(CH)).toEqual([]);
  });

  it("by default WebClient sleeps Retry-After seconds, then retries", async () => {
    double.failNext("chat.postMessage", { status: 429, retryAfterSec: 1 });
    const c = client({ retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } });
    const res = await post(c);
    expect(res.ok).toBe(true);
    const [first, second] = double.callsTo("chat.postMessage");
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(double.messages(CH)).toHaveLength(1);
  });

  it("with retries: 0 it still sleeps Retry-After, then fails with a plain Error", async () => {
    double.failNext("chat.postMessage", { status: 429, retryAfterSec: 1 });
    const started = Date.now();
    const err = await rejection(post(client()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(err).not.toBeInstanceOf(WebAPIRateLimitedError);
    expect((err as Error).message).toMatch(/A rate limit was exceeded .*retry-after: 1/);
  });
});

describe("server errors and outages", () => {
  it("surfaces a 500 as WebAPIHTTPError", async () => {
    double.failNext("chat.postMessage", { status: 500 });
    const err = await rejection(post(client()));
    expect(err).toBeInstanceOf(WebAPIHTTPError);
    expect(err).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
  });

  it("WebClient retries 5xx responses but not ok:false platform errors", async () => {
    const retrying = client({ retryConfig: { retries: 2, minTimeout: 5, maxTimeout: 5 } });
    double.failNext("chat.postMessage", { status: 503 }, 2);
    expect((await post(retrying)).ok).toBe(true);
    expect(double.callsTo("chat.postMessage").map((c) => c.response.status)).toEqual([
      503, 503, 200,
    ]);

    double.clearCalls();
    double.failNext("chat.postMessage", { error: "fatal_error" });
    const err = await rejection(post(retrying));
    expect(err).toBeInstanceOf(WebAPIPlatformError);
    expect(err).toMatchObject({ data: { ok: false, error: "fatal_error" } });
    expect(double.callsTo("chat.postMessage")).toHaveLength(1);
  });

  it("fails every call of every method until the outage is cleared", async () => {
    double.failAll("*", { status: 503 });
    const c = client();
    await expect(post(c)).rejects.toBeInstanceOf(WebAPIHTTPError);
    await expect(c.auth.test()).rejects.toBeInstanceOf(WebAPIHTTPError);
    await expect(post(c)).rejects.toBeInstanceOf(WebAPIHTTPError);
    double.clearFaults();
    expect((await post(c)).ok).toBe(true);
    expect(double.calls.map((x) => x.response.status)).toEqual([503, 503, 503, 200]);
  });

  it("fails one method until cleared while others work", async () => {
    double.failAll("chat.update", { error: "service_unavailable" });
    const c = client();
    const root = await post(c);
    const update = () => c.chat.update({ channel: CH, ts: root.ts as string, text: "x" });
    await expect(update()).rejects.toMatchObject({ data: { error: "service_unavailable" } });
    await expect(update()).rejects.toMatchObject({ data: { error: "service_unavailable" } });
    double.clearFaults("chat.update");
    expect((await update()).ok).toBe(true);
  });

  it("the upload POST itself can fail; filesUploadV2 then rejects and no file is shared", async () => {
    double.failNext(UPLOAD, { status: 500 });
    const upload = client().filesUploadV2({
      channel_id: CH,
      file: Buffer.from("log"),
      filename: "a.log",
    });
    await expect(upload).rejects.toBeInstanceOf(WebAPIHTTPError);
    expect(double.callsTo("files.completeUploadExternal")).toEqual([]);
    expect(double.files).toEqual([]);
  });

  it("queued faults are used up in order, then calls are served", async () => {
    double.failNext("chat.postMessage", { error: "internal_error" }, 2);
    const c = client();
    await expect(post(c)).rejects.toMatchObject({ data: { error: "internal_error" } });
    await expect(post(c)).rejects.toMatchObject({ data: { error: "internal_error" } });
    expect((await post(c)).ok).toBe(true);
  });
});

describe("dropped connections and latency", () => {
  it("a dropped connection surfaces as WebAPIRequestError and posts nothing", async () => {
    double.dropNext("chat.postMessage");
    const err = await rejection(post(client()));
    expect(err).toBeInstanceOf(WebAPIRequestError);
    expect(err).toMatchObject({ code: ErrorCode.RequestError });
    expect(double.messages(CH)).toEqual([]);
    expect(double.callsTo("chat.postMessage")[0]?.response.dropped).toBe(true);
  });

  it("a drop after serving loses only the response: the message was posted", async () => {
    double.dropNext("chat.postMessage", 1, true);
    await expect(post(client(), "once")).rejects.toBeInstanceOf(WebAPIRequestError);
    expect(double.messages(CH).map((m) => m.text)).toEqual(["once"]);
  });

  it("delays responses; WebClient's timeout option turns that into a request error", async () => {
    double.setLatency("chat.postMessage", 300);
    const started = Date.now();
    expect((await post(client())).ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);

    await expect(post(client({ timeout: 50 }))).rejects.toBeInstanceOf(WebAPIRequestError);
    double.setLatency("chat.postMessage", 0);
    expect((await post(client({ timeout: 5000 }))).ok).toBe(true);
  });
});
