import { webApi } from "@slack/bolt";
import type { KnownBlock } from "@slack/types";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.js";
import { Secrets } from "../../src/secrets.js";
import { SlackOutbox, type SlackOutboxOptions } from "../../src/slack/outbox.js";
import { type SlackDouble, startSlackDouble } from "../slack-double/index.js";

const { WebClient } = webApi;

const OPS = "C0OPS00001";
const OTHER = "C0OTHER001";
const SECRET = "s3cret-redis-passw0rd";

interface LogLine {
  level: number;
  msg: string;
  component?: string;
  [key: string]: unknown;
}

let double: SlackDouble;
let logs: LogLine[];
let secrets: Secrets;
let outbox: SlackOutbox | undefined;

beforeEach(async () => {
  double = await startSlackDouble({ channels: [{ id: OPS }, { id: OTHER }] });
  logs = [];
  secrets = new Secrets();
  secrets.add(SECRET);
});

afterEach(async () => {
  await outbox?.close();
  outbox = undefined;
  await double.close();
});

function client(timeout = 2000) {
  return new WebClient(double.botToken, {
    slackApiUrl: double.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout,
    logger: {
      debug() {},
      info() {},
      warn() {},
      error() {},
      setLevel() {},
      getLevel: () => webApi.LogLevel.ERROR,
      setName() {},
    },
  });
}

/** An outbox against the double, fast by default: a generous throttle and short backoff. */
function makeOutbox(options: Partial<SlackOutboxOptions> = {}): SlackOutbox {
  const log = createLogger({
    secrets,
    level: "debug",
    destination: { write: (line: string) => logs.push(JSON.parse(line) as LogLine) },
  });
  outbox = new SlackOutbox({
    client: client(),
    log,
    secrets,
    perChannel: { burst: 100, refillPerSecond: 100 },
    backoff: { initialMs: 20, maxMs: 100 },
    ...options,
  });
  return outbox;
}

const texts = (channel: string) => double.messages(channel).map((m) => m.text);
const section = (text: string): KnownBlock => ({ type: "section", text: { type: "mrkdwn", text } });

describe("ordering and threads", () => {
  it("sends a channel's messages in FIFO order", async () => {
    const o = makeOutbox();
    double.setLatency("chat.postMessage", 5);
    for (let i = 0; i < 10; i++) o.post(OPS, { text: `m${i}` });
    await o.flush();
    expect(texts(OPS)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  it("replies to a MessageRef land in its thread once the root is posted", async () => {
    const o = makeOutbox();
    double.setLatency("chat.postMessage", 50);
    const root = o.post(OPS, { text: "root", blocks: [section("*root*")] });
    o.post(OPS, { text: "step 1" }, { threadTs: root });
    o.post(OPS, { text: "step 2" }, { threadTs: root });
    await o.flush();
    const ts = await root.ts();
    expect(double.thread(OPS, ts).map((m) => m.text)).toEqual(["root", "step 1", "step 2"]);
    expect(texts(OPS)).toEqual(["root"]);
  });

  it("flush() resolves at once when nothing is queued", async () => {
    await makeOutbox().flush();
  });
});

describe("updates", () => {
  it("coalesces rapid updates of one message and ends with the newest content", async () => {
    const o = makeOutbox({ perChannel: { burst: 1, refillPerSecond: 10 } });
    const ref = o.post(OPS, { text: "step: running" });
    for (let i = 1; i <= 10; i++)
      o.update(ref, { text: `output line ${i}`, blocks: [section(`line ${i}`)] });
    await o.flush();
    const updates = double.callsTo("chat.update");
    expect(updates.length).toBeLessThanOrEqual(2);
    const msg = double.message(OPS, await ref.ts());
    expect(msg?.text).toBe("output line 10");
    expect(msg?.blocks).toEqual([section("line 10")]);
    expect(o.stats().coalesced).toBeGreaterThanOrEqual(8);
  });

  it("live output paced faster than the throttle costs at most one call per slot", async () => {
    const o = makeOutbox({ perChannel: { burst: 1, refillPerSecond: 1 } });
    const ref = o.post(OPS, { text: "step" });
    await ref.ts();
    for (let i = 1; i <= 12; i++) {
      o.update(ref, { text: `output ${i}` });
      await new Promise((r) => setTimeout(r, 25));
    }
    await o.flush();
    const updates = double.callsTo("chat.update");
    // Each update was sent or folded into the one waiting for its slot: none lost, some folded.
    expect(updates.length + o.stats().coalesced).toBe(12);
    expect(updates.length).toBeLessThan(12);
    expect(double.message(OPS, await ref.ts())?.text).toBe("output 12");
  });

  it("an update without blocks clears the blocks of the message", async () => {
    const o = makeOutbox();
    const ref = o.post(OPS, { text: "a", blocks: [section("a")] });
    o.update(ref, { text: "b" });
    await o.flush();
    const msg = double.message(OPS, await ref.ts());
    expect(msg?.text).toBe("b");
    expect(msg?.blocks ?? []).toEqual([]);
  });

  it("drops (and logs) updates of a message whose post failed for good", async () => {
    const o = makeOutbox();
    double.failNext("chat.postMessage", { error: "channel_not_found" });
    const ref = o.post(OPS, { text: "lost" });
    o.update(ref, { text: "update 1" });
    await o.flush();
    await expect(ref.ts()).rejects.toThrow(/never posted/);
    o.update(ref, { text: "update 2" });
    await o.flush();
    expect(double.callsTo("chat.update")).toEqual([]);
    expect(o.stats().dropped).toBe(2);
    expect(logs.filter((l) => /dropping an update/.test(l.msg))).toHaveLength(2);
  });
});

describe("throttle", () => {
  it("spaces a channel's calls by the refill rate after the burst", async () => {
    // The outbox's own clock: the schedule it keeps is exact whatever the machine's load.
    let clock = 0;
    const waits: number[] = [];
    const o = makeOutbox({
      perChannel: { burst: 2, refillPerSecond: 10 },
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    for (let i = 0; i < 6; i++) o.post(OPS, { text: `m${i}` });
    await o.flush();
    expect(texts(OPS)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5"]);
    // The burst goes out at once; then one call per 100 ms.
    expect(waits).toEqual([100, 100, 100, 100]);
  });

  it("sends the burst without waiting and holds the rest for the refill", async () => {
    // A refill so slow that a call waiting for a token would never arrive during the test.
    const o = makeOutbox({ perChannel: { burst: 2, refillPerSecond: 0.001 } });
    for (let i = 0; i < 3; i++) o.post(OPS, { text: `m${i}` });
    await expect.poll(() => texts(OPS)).toEqual(["m0", "m1"]);
    await o.close();
    expect(texts(OPS)).toEqual(["m0", "m1"]);
  });
});

describe("retries", () => {
  it("honours Retry-After on a 429 and the message then lands", async () => {
    const o = makeOutbox();
    double.failNext("chat.postMessage", { status: 429, retryAfterSec: 1 });
    const ref = o.post(OPS, { text: "after the rate limit" });
    await o.flush();
    const [limited, retried] = double.callsTo("chat.postMessage");
    expect(limited?.response.status).toBe(429);
    expect((retried?.receivedAt ?? 0) - (limited?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(texts(OPS)).toEqual(["after the rate limit"]);
    expect(await ref.ts()).toMatch(/^\d+\.\d{6}$/);
    expect(o.stats()).toMatchObject({ rateLimited: 1, retries: 1, calls: 2, gaveUp: 0 });
    const line = logs.find((l) => /rate-limited/.test(l.msg));
    expect(line).toMatchObject({
      component: "slack-outbox",
      method: "chat.postMessage",
      channel: OPS,
      attempt: 1,
      retryAfterSec: 1,
    });
  });

  it("treats `ratelimited` as a platform error like a 429", async () => {
    const o = makeOutbox();
    double.failNext("chat.update", { error: "ratelimited" });
    const ref = o.post(OPS, { text: "a" });
    o.update(ref, { text: "b" });
    await o.flush();
    expect(double.message(OPS, await ref.ts())?.text).toBe("b");
    expect(o.stats().rateLimited).toBe(1);
  });

  it("retries HTTP 500s with backoff until the call succeeds", async () => {
    const o = makeOutbox();
    double.failNext("chat.postMessage", { status: 500 }, 4);
    o.post(OPS, { text: "eventually" });
    await o.flush();
    expect(double.callsTo("chat.postMessage").map((c) => c.response.status)).toEqual([
      500, 500, 500, 500, 200,
    ]);
    expect(texts(OPS)).toEqual(["eventually"]);
    expect(o.stats()).toMatchObject({ serverErrors: 4, retries: 4 });
    expect(logs.filter((l) => /retrying/.test(l.msg)).map((l) => l.attempt)).toEqual([1, 2, 3, 4]);
  });

  it("retries a dropped connection", async () => {
    const o = makeOutbox();
    double.dropNext("chat.postMessage");
    o.post(OPS, { text: "after the drop" });
    await o.flush();
    expect(texts(OPS)).toEqual(["after the drop"]);
    expect(o.stats().networkErrors).toBe(1);
  });

  it("a retried update after a lost response is harmless; a retried post may double", async () => {
    const o = makeOutbox();
    double.dropNext("chat.update", 1, true);
    const ref = o.post(OPS, { text: "v1" });
    o.update(ref, { text: "v2" });
    await o.flush();
    expect(double.message(OPS, await ref.ts())?.text).toBe("v2");
    expect(double.callsTo("chat.update")).toHaveLength(2);

    // Documented trade-off: Slack has no idempotency key, a duplicate beats a lost message.
    double.dropNext("chat.postMessage", 1, true);
    o.post(OPS, { text: "posted twice" });
    await o.flush();
    expect(texts(OPS)).toEqual(["v2", "posted twice", "posted twice"]);
  });

  it("retries a timed-out call", async () => {
    const o = makeOutbox({ client: client(200) });
    const ref = o.post(OPS, { text: "a" });
    await ref.ts();
    double.setLatency("chat.update", 400);
    o.update(ref, { text: "b" });
    setTimeout(() => double.setLatency("chat.update", 0), 250);
    await o.flush();
    expect(double.message(OPS, await ref.ts())?.text).toBe("b");
    expect(o.stats().networkErrors).toBeGreaterThanOrEqual(1);
  });

  it("survives an outage of every method with nothing lost and order kept", async () => {
    const o = makeOutbox();
    double.failAll("*", { status: 503 });
    const root = o.post(OPS, { text: "root" });
    o.post(OPS, { text: "r1" }, { threadTs: root });
    const r2 = o.post(OPS, { text: "r2" }, { threadTs: root });
    o.update(r2, { text: "r2 done" });
    o.post(OPS, { text: "r3" }, { threadTs: root });
    o.upload(OPS, root, { filename: "out.log", title: "output", content: "lots of output" });
    o.post(OTHER, { text: "elsewhere" });
    await new Promise((r) => setTimeout(r, 800));
    expect(double.messages(OPS)).toEqual([]);
    double.clearFaults();
    await o.flush();
    const thread = double.thread(OPS, await root.ts());
    expect(thread.map((m) => m.text)).toEqual(["root", "r1", "r2 done", "r3", ""]);
    expect(thread[4]?.files?.[0]?.name).toBe("out.log");
    expect(texts(OTHER)).toEqual(["elsewhere"]);
    expect(o.stats().gaveUp).toBe(0);
  });

  it("does not retry other platform errors", async () => {
    const o = makeOutbox();
    double.failNext("chat.postMessage", { error: "not_in_channel" });
    const ref = o.post(OPS, { text: "nope" });
    o.post(OPS, { text: "next" });
    await o.flush();
    await expect(ref.ts()).rejects.toThrow();
    expect(double.callsTo("chat.postMessage")).toHaveLength(2);
    expect(texts(OPS)).toEqual(["next"]);
    expect(o.stats()).toMatchObject({ gaveUp: 1, retries: 0 });
  });
});

describe("text-only fallback", () => {
  it("re-posts as text only when Slack refuses the blocks", async () => {
    const o = makeOutbox();
    const bad = [{ type: "bogus" }] as unknown as KnownBlock[];
    const ref = o.post(OPS, { text: "step 3 failed: see output", blocks: bad });
    await o.flush();
    const [refused, plain] = double.callsTo("chat.postMessage");
    expect(refused?.response.body).toMatchObject({ ok: false, error: "invalid_blocks" });
    expect(plain?.args.blocks).toBeUndefined();
    const msg = double.message(OPS, await ref.ts());
    expect(msg?.text).toBe("step 3 failed: see output");
    expect(msg?.blocks).toBeUndefined();
    expect(o.stats().fallbacks).toBe(1);
    expect(logs.some((l) => /as text only/.test(l.msg) && l.error === "invalid_blocks")).toBe(true);
  });

  it("cuts the text to Slack's limit and clears blocks on an update that is too long", async () => {
    const o = makeOutbox();
    const ref = o.post(OPS, { text: "short", blocks: [section("short")] });
    const huge = "x".repeat(50_000);
    const blocks = Array.from({ length: 10 }, () => section("y".repeat(2_900)));
    o.update(ref, { text: huge, blocks });
    await o.flush();
    const errors = double
      .callsTo("chat.update")
      .map((c) => (c.response.body as { error?: string }).error);
    expect(errors).toEqual(["msg_blocks_too_long", undefined]);
    const msg = double.message(OPS, await ref.ts());
    expect(msg?.text.length).toBeLessThanOrEqual(40_000);
    expect(msg?.text.startsWith("xxxx")).toBe(true);
    expect(msg?.blocks ?? []).toEqual([]);
  });

  it("gives up if the text-only version is refused too", async () => {
    const o = makeOutbox();
    double.failNext("chat.postMessage", { error: "msg_too_long" }, 2);
    const ref = o.post(OPS, { text: "t" });
    await o.flush();
    await expect(ref.ts()).rejects.toThrow();
    expect(double.callsTo("chat.postMessage")).toHaveLength(2);
  });
});

describe("secrets", () => {
  it("never sends a registered secret, in any field of any call", async () => {
    const o = makeOutbox();
    const ref = o.post(OPS, {
      text: `password is ${SECRET}`,
      blocks: [
        section(`\`redis-cli -a ${SECRET}\``),
        { type: "context", elements: [{ type: "mrkdwn", text: SECRET }] },
      ],
    });
    o.post(OPS, { text: `reply ${SECRET}` }, { threadTs: ref });
    o.update(ref, { text: `updated ${SECRET}`, blocks: [section(`"${SECRET}"`)] });
    o.upload(OPS, ref, {
      filename: "out.log",
      title: `title ${SECRET}`,
      content: Buffer.from(`AUTH ${SECRET}\n`),
      initialComment: `comment ${SECRET}`,
    });
    await o.postEphemeral(OPS, "U0ALICE", { text: `eph ${SECRET}` });
    await o.flush();
    expect(double.calls.length).toBeGreaterThanOrEqual(7);
    for (const call of double.calls) expect(JSON.stringify(call.args)).not.toContain(SECRET);
    const [file] = double.files;
    expect(file?.bytes?.toString()).toBe("AUTH [redacted]\n");
    expect(JSON.stringify(double.messages(OPS))).not.toContain(SECRET);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(double.message(OPS, await ref.ts())?.blocks).toEqual([section('"[redacted]"')]);
  });
});

describe("uploads and ephemerals", () => {
  it("uploads a file into the thread of a MessageRef", async () => {
    const o = makeOutbox();
    const root = o.post(OPS, { text: "root" });
    o.upload(OPS, root, {
      filename: "step-3.log",
      title: "Step 3 output",
      content: "line 1\nline 2\n",
      initialComment: "full output",
    });
    double.failNext("files.completeUploadExternal", { status: 502 });
    await o.flush();
    const ts = await root.ts();
    expect(double.files).toHaveLength(1);
    expect(double.files[0]).toMatchObject({
      filename: "step-3.log",
      title: "Step 3 output",
      channel: OPS,
      thread_ts: ts,
      initial_comment: "full output",
    });
    expect(double.files[0]?.bytes?.toString()).toBe("line 1\nline 2\n");
    expect(double.thread(OPS, ts)).toHaveLength(2);
  });

  it("postEphemeral retries, and logs instead of rejecting when it fails for good", async () => {
    const o = makeOutbox();
    double.failNext("chat.postEphemeral", { status: 500 });
    await o.postEphemeral(OPS, "U0ALICE", { text: "only you" });
    expect(double.ephemerals.map((e) => e.text)).toEqual(["only you"]);

    double.failNext("chat.postEphemeral", { error: "user_not_in_channel" });
    await expect(o.postEphemeral(OPS, "U0BOB", { text: "nope" })).resolves.toBeUndefined();
    expect(logs.some((l) => l.level === 50 && l.method === "chat.postEphemeral")).toBe(true);
  });

  it("postEphemeral is not held up by the channel's queue", async () => {
    // The queued posts wait for tokens that would take hours: the ephemeral goes past them.
    const o = makeOutbox({ perChannel: { burst: 1, refillPerSecond: 0.001 } });
    for (let i = 0; i < 4; i++) o.post(OPS, { text: `m${i}` });
    await o.postEphemeral(OPS, "U0ALICE", { text: "now" });
    expect(double.ephemerals.map((e) => e.text)).toEqual(["now"]);
    expect(texts(OPS).length).toBeLessThan(4);
    await o.close();
  });
});

describe("isolation and giving up", () => {
  it("a channel waiting out a 429 does not delay another channel", async () => {
    const o = makeOutbox();
    double.failNext("chat.postMessage", { status: 429, retryAfterSec: 2 });
    o.post(OPS, { text: "slow" });
    await double.waitForCall("chat.postMessage", (c) => c.response.status === 429);
    const other = o.post(OTHER, { text: "fast" });
    await other.ts();
    // Posted while OPS was still waiting out its Retry-After.
    expect(texts(OTHER)).toEqual(["fast"]);
    expect(texts(OPS)).toEqual([]);
    await o.flush();
    expect(texts(OPS)).toEqual(["slow"]);
  });

  it("gives up after maxWaitMs, logs which message was lost, and does not throw", async () => {
    const o = makeOutbox({ maxWaitMs: 600 });
    double.failAll("chat.postMessage", { status: 503 });
    const started = Date.now();
    const ref = o.post(OPS, { text: `step 4 output ${"z".repeat(200)}` });
    await o.flush();
    // Kept trying until maxWaitMs ran out (an upper bound would only measure the machine's load).
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    await expect(ref.ts()).rejects.toThrow(/never posted/);
    const gaveUp = logs.find((l) => /gave up/.test(l.msg));
    expect(gaveUp).toMatchObject({
      level: 50,
      method: "chat.postMessage",
      channel: OPS,
      error: "HTTP 503",
    });
    expect(String(gaveUp?.preview)).toMatch(/^step 4 output z+…$/);
    expect(String(gaveUp?.preview).length).toBeLessThanOrEqual(101);
    expect(o.stats().gaveUp).toBe(1);

    // a 429 whose Retry-After runs past the deadline is given up at once
    double.clearFaults();
    double.failNext("chat.postMessage", { status: 429, retryAfterSec: 5 });
    o.post(OPS, { text: "too late" });
    await o.flush();
    expect(o.stats().gaveUp).toBe(2);
  });

  it("close() drops what is queued and later writes", async () => {
    // Tokens that would take hours: close() returning at all shows it did not wait for them.
    const o = makeOutbox({ perChannel: { burst: 1, refillPerSecond: 0.001 } });
    await o.post(OPS, { text: "first" }).ts();
    const second = o.post(OPS, { text: "second" });
    const third = o.post(OPS, { text: "third" });
    await o.close();
    await expect(second.ts()).rejects.toThrow();
    await expect(third.ts()).rejects.toThrow();
    const late = o.post(OPS, { text: "late" });
    await expect(late.ts()).rejects.toThrow();
    expect(texts(OPS)).toEqual(["first"]);
  });
});
