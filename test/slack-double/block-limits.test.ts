import { webApi } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blocksCharCount, SLACK_LIMITS, type SlackDouble, startSlackDouble } from "./index.js";
import { recordingLogger } from "./recording-logger.js";

const { WebClient, WebAPIPlatformError } = webApi;
type Blocks = Record<string, unknown>[];

const L = SLACK_LIMITS;
const CH = "C0LIMITS01";

const s = (n: number, c = "x") => c.repeat(n);
const plain = (text: string) => ({ type: "plain_text", text });
const mrkdwn = (text: string) => ({ type: "mrkdwn", text });
const button = (action_id: string, extra: Record<string, unknown> = {}) => ({
  type: "button",
  action_id,
  text: plain("Go"),
  ...extra,
});
const actions = (...elements: unknown[]) => ({ type: "actions", elements });
const section = (text: string) => ({ type: "section", text: mrkdwn(text) });
const buttons = (n: number) => Array.from({ length: n }, (_, i) => button(`b${i}`));

/** Each limit: a message right at it (accepted) and one just past it (rejected). */
const cases: Array<{ name: string; at: Blocks; over: Blocks; pointer: string }> = [
  {
    name: `more than ${L.maxBlocksPerMessage} blocks`,
    at: Array.from({ length: L.maxBlocksPerMessage }, () => ({ type: "divider" })),
    over: Array.from({ length: L.maxBlocksPerMessage + 1 }, () => ({ type: "divider" })),
    pointer: "/blocks",
  },
  {
    name: `section text over ${L.maxSectionTextChars} chars`,
    at: [section(s(L.maxSectionTextChars))],
    over: [section(s(L.maxSectionTextChars + 1))],
    pointer: "/blocks/0/text/text",
  },
  {
    name: `header over ${L.maxHeaderTextChars} chars`,
    at: [{ type: "header", text: plain(s(L.maxHeaderTextChars)) }],
    over: [{ type: "header", text: plain(s(L.maxHeaderTextChars + 1)) }],
    pointer: "/blocks/0/text/text",
  },
  {
    name: `more than ${L.maxSectionFields} section fields`,
    at: [
      { type: "section", fields: Array.from({ length: L.maxSectionFields }, () => mrkdwn("f")) },
    ],
    over: [
      {
        type: "section",
        fields: Array.from({ length: L.maxSectionFields + 1 }, () => mrkdwn("f")),
      },
    ],
    pointer: "/blocks/0/fields",
  },
  {
    name: `a section field over ${L.maxSectionFieldChars} chars`,
    at: [{ type: "section", fields: [mrkdwn(s(L.maxSectionFieldChars))] }],
    over: [{ type: "section", fields: [mrkdwn(s(L.maxSectionFieldChars + 1))] }],
    pointer: "/blocks/0/fields/0/text",
  },
  {
    name: `button text over ${L.maxButtonTextChars} chars`,
    at: [actions(button("a", { text: plain(s(L.maxButtonTextChars)) }))],
    over: [actions(button("a", { text: plain(s(L.maxButtonTextChars + 1)) }))],
    pointer: "/blocks/0/elements/0/text/text",
  },
  {
    name: `action_id over ${L.maxActionIdChars} chars`,
    at: [actions(button(s(L.maxActionIdChars)))],
    over: [actions(button(s(L.maxActionIdChars + 1)))],
    pointer: "/blocks/0/elements/0/action_id",
  },
  {
    name: `block_id over ${L.maxBlockIdChars} chars`,
    at: [{ ...section("t"), block_id: s(L.maxBlockIdChars) }],
    over: [{ ...section("t"), block_id: s(L.maxBlockIdChars + 1) }],
    pointer: "/blocks/0/block_id",
  },
  {
    name: `button value over ${L.maxButtonValueChars} chars`,
    at: [actions(button("a", { value: s(L.maxButtonValueChars) }))],
    over: [actions(button("a", { value: s(L.maxButtonValueChars + 1) }))],
    pointer: "/blocks/0/elements/0/value",
  },
  {
    name: `more than ${L.maxActionsElements} elements in an actions block`,
    at: [actions(...buttons(L.maxActionsElements))],
    over: [actions(...buttons(L.maxActionsElements + 1))],
    pointer: "/blocks/0/elements",
  },
  {
    name: `a context block with more than ${L.maxContextElements} elements`,
    at: [
      {
        type: "context",
        elements: Array.from({ length: L.maxContextElements }, () => mrkdwn("c")),
      },
    ],
    over: [
      {
        type: "context",
        elements: Array.from({ length: L.maxContextElements + 1 }, () => mrkdwn("c")),
      },
    ],
    pointer: "/blocks/0/elements",
  },
  {
    name: `a markdown block over ${L.maxMarkdownBlockChars} chars`,
    at: [{ type: "markdown", text: s(L.maxMarkdownBlockChars) }],
    over: [{ type: "markdown", text: s(L.maxMarkdownBlockChars + 1) }],
    pointer: "/blocks/0/text",
  },
  {
    name: "duplicate action_ids within a message",
    at: [actions(button("approve")), actions(button("reject"))],
    over: [actions(button("approve")), actions(button("approve"))],
    pointer: "/blocks/1/elements/0/action_id",
  },
  {
    name: "duplicate block_ids",
    at: [
      { ...section("a"), block_id: "one" },
      { ...section("b"), block_id: "two" },
    ],
    over: [
      { ...section("a"), block_id: "one" },
      { ...section("b"), block_id: "one" },
    ],
    pointer: "/blocks/1/block_id",
  },
  {
    name: "an unknown block type",
    at: [section("ok")],
    over: [{ type: "fancy_panel", text: mrkdwn("x") }],
    pointer: "/blocks/0/type",
  },
  {
    name: "a header without text",
    at: [{ type: "header", text: plain("h") }],
    over: [{ type: "header" }],
    pointer: "/blocks/0",
  },
  {
    name: "a section with neither text nor fields",
    at: [section("s")],
    over: [{ type: "section" }],
    pointer: "/blocks/0",
  },
  {
    name: "a button without text",
    at: [actions(button("a"))],
    over: [actions({ type: "button", action_id: "a" })],
    pointer: "/blocks/0/elements/0",
  },
  {
    name: "a block without type",
    at: [{ type: "divider" }],
    over: [{ text: mrkdwn("x") }],
    pointer: "/blocks/0/type",
  },
  {
    name: "mrkdwn in a header",
    at: [{ type: "header", text: plain("h") }],
    over: [{ type: "header", text: mrkdwn("h") }],
    pointer: "/blocks/0/text/type",
  },
];

/** Markdown blocks whose `blocksCharCount` is exactly `total`. */
function blocksOfSize(total: number): Blocks {
  const skeleton = [
    { type: "markdown", text: "" },
    { type: "markdown", text: "" },
  ];
  const room = total - blocksCharCount(skeleton);
  const half = Math.floor(room / 2);
  return [
    { type: "markdown", text: s(half) },
    { type: "markdown", text: s(room - half) },
  ];
}

let double: SlackDouble;
let client: InstanceType<typeof WebClient>;

/** The body Slack answered with, whether ok or not. */
async function post(blocks: unknown): Promise<Record<string, unknown>> {
  try {
    return {
      ...(await client.apiCall("chat.postMessage", { channel: CH, text: "fallback", blocks })),
    };
  } catch (e) {
    if (e instanceof WebAPIPlatformError) return e.data as unknown as Record<string, unknown>;
    throw e;
  }
}

beforeAll(async () => {
  double = await startSlackDouble({ channels: [{ id: CH }] });
  client = new WebClient(double.botToken, {
    slackApiUrl: double.apiUrl,
    retryConfig: { retries: 0 },
    logger: recordingLogger(),
  });
});

afterAll(async () => {
  await double.close();
});

describe("Block Kit limits", () => {
  it.each(cases)("accepts a message right at the limit, rejects $name", async (c) => {
    expect(await post(c.at)).toMatchObject({ ok: true });
    const rejected = await post(c.over);
    expect(rejected).toMatchObject({ ok: false, error: "invalid_blocks" });
    const errors = rejected.errors as string[];
    expect(errors.some((e) => e.includes(`[json-pointer:${c.pointer}`))).toBe(true);
    expect(rejected.response_metadata).toMatchObject({
      messages: errors.map((e) => `[ERROR] ${e}`),
    });
  });

  it("rejects blocks over the total character cap with msg_blocks_too_long", async () => {
    const at = blocksOfSize(L.maxTotalBlockChars);
    expect(blocksCharCount(at)).toBe(L.maxTotalBlockChars);
    expect(await post(at)).toMatchObject({ ok: true });
    expect(await post(blocksOfSize(L.maxTotalBlockChars + 1))).toEqual({
      ok: false,
      error: "msg_blocks_too_long",
      response_metadata: {},
    });
  });

  it("lets a test raise the total cap", async () => {
    const roomy = await startSlackDouble({ limits: { maxTotalBlockChars: 20_000 } });
    try {
      const c = new WebClient(roomy.botToken, {
        slackApiUrl: roomy.apiUrl,
        retryConfig: { retries: 0 },
      });
      const res = await c.apiCall("chat.postMessage", {
        channel: CH,
        text: "big",
        blocks: blocksOfSize(L.maxTotalBlockChars + 1),
      });
      expect(res.ok).toBe(true);
    } finally {
      await roomy.close();
    }
  });

  it("rejects blocks that are not a JSON array with invalid_blocks_format", async () => {
    expect(await post("not json")).toMatchObject({ ok: false, error: "invalid_blocks_format" });
  });

  it("stores nothing for a rejected message and leaves an updated one unchanged", async () => {
    const before = double.messages(CH).length;
    const ok = await client.chat.postMessage({
      channel: CH,
      text: "plan",
      blocks: [section("v1")],
    });
    await expect(
      client.chat.update({
        channel: CH,
        ts: ok.ts as string,
        text: "v2",
        blocks: [{ type: "header" }],
      }),
    ).rejects.toMatchObject({ data: { error: "invalid_blocks" } });
    expect(double.messages(CH)).toHaveLength(before + 1);
    expect(double.message(CH, ok.ts as string)?.text).toBe("plan");
  });
});
