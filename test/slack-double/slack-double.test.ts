import { randomBytes } from "node:crypto";
import { webApi } from "@slack/bolt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  messageButtons,
  messageText,
  type SlackDouble,
  startSlackDouble,
  UPLOAD,
} from "./index.js";
import { recordingLogger } from "./recording-logger.js";

const { WebClient, WebAPIPlatformError } = webApi;
type Client = InstanceType<typeof WebClient>;

const OPS = "C0OPS00001";

let double: SlackDouble;
let client: Client;

function clientFor(token: string | undefined): Client {
  return new WebClient(token, {
    slackApiUrl: double.apiUrl,
    retryConfig: { retries: 0 },
    logger: recordingLogger(),
  });
}

/** The Slack error code of a rejected call. */
async function slackError(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebAPIPlatformError);
  return (err as InstanceType<typeof WebAPIPlatformError>).data.error;
}

const planBlocks = (title: string) => [
  { type: "header", text: { type: "plain_text", text: title } },
  { type: "section", text: { type: "mrkdwn", text: "*Plan*: promote replica `r2`" } },
  {
    type: "actions",
    block_id: "decision",
    elements: [
      {
        type: "button",
        action_id: "approve",
        text: { type: "plain_text", text: "Approve" },
        style: "primary",
        value: "plan-1",
      },
      {
        type: "button",
        action_id: "reject",
        text: { type: "plain_text", text: "Reject" },
        style: "danger",
        value: "plan-1",
      },
    ],
  },
];

beforeEach(async () => {
  double = await startSlackDouble({
    channels: [
      { id: OPS, name: "ops", members: ["U0ALICE", "U0BOB"] },
      { id: "C0OTHER001", name: "other" },
    ],
    usergroups: { S0ONCALL: ["U0ALICE", "U0BOB"] },
    users: [{ id: "U0ALICE", name: "alice", real_name: "Alice A", tz: "Europe/Paris" }],
  });
  client = clientFor(double.botToken);
});

afterEach(async () => {
  await double.close();
});

describe("messages and threads", () => {
  it("postMessage creates, chat.update replaces in place, replies form a thread", async () => {
    const root = await client.chat.postMessage({
      channel: OPS,
      text: "Failover plan",
      blocks: planBlocks("Failover plan for cache-1"),
    });
    expect(root.ok).toBe(true);
    expect(root.channel).toBe(OPS);
    expect(root.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(root.message?.bot_id).toBe(double.identity.bot_id);

    const rootTs = root.ts as string;
    const [shown] = double.messages(OPS);
    expect(shown?.text).toBe("Failover plan");
    expect(messageButtons(shown ?? {}).map((b) => [b.action_id, b.text, b.style])).toEqual([
      ["approve", "Approve", "primary"],
      ["reject", "Reject", "danger"],
    ]);

    const r1 = await client.chat.postMessage({
      channel: OPS,
      thread_ts: rootTs,
      text: "step 1 ok",
    });
    const r2 = await client.chat.postMessage({
      channel: OPS,
      thread_ts: rootTs,
      text: "step 2 ok",
    });
    expect(Number(r1.ts)).toBeGreaterThan(Number(rootTs));
    expect(Number(r2.ts)).toBeGreaterThan(Number(r1.ts));

    const updated = await client.chat.update({
      channel: OPS,
      ts: rootTs,
      text: "Approved",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "Approved by <@U0BOB>" } }],
    });
    expect(updated.ts).toBe(rootTs);

    expect(double.messages(OPS)).toHaveLength(1); // replies stay in the thread
    const thread = double.thread(OPS, rootTs);
    expect(thread.map((m) => m.text)).toEqual(["Approved", "step 1 ok", "step 2 ok"]);
    expect(thread[0]?.reply_count).toBe(2);
    expect(thread[1]?.thread_ts).toBe(rootTs);
    expect(messageButtons(thread[0] ?? {})).toEqual([]);
    expect(messageText(thread[0] ?? {})).toContain("Approved by <@U0BOB>");
    expect(thread[0]?.history[0]?.text).toBe("Failover plan");
    expect(thread[0]?.edited).toBeDefined();
  });

  it("records every call with its token, content type and decoded blocks", async () => {
    await client.chat.postMessage({ channel: OPS, text: "hi", blocks: planBlocks("x") });
    const [call] = double.callsTo("chat.postMessage");
    expect(call?.token).toBe(double.botToken);
    expect(call?.contentType).toBe("application/x-www-form-urlencoded");
    expect(call?.args.blocks).toEqual(planBlocks("x"));
    expect(call?.response).toMatchObject({ status: 200, body: { ok: true, channel: OPS } });
    expect(call?.respondedAt).toBeGreaterThanOrEqual(call?.receivedAt ?? Infinity);
  });

  it("keeps the previous blocks when chat.update omits them", async () => {
    const root = await client.chat.postMessage({
      channel: OPS,
      text: "a",
      blocks: planBlocks("x"),
    });
    await client.chat.update({ channel: OPS, ts: root.ts as string, text: "b" });
    const msg = double.message(OPS, root.ts as string);
    expect(msg?.text).toBe("b");
    expect(messageButtons(msg ?? {})).toHaveLength(2);
  });

  it("resolves channel names and rejects unknown channels, messages and threads", async () => {
    const byName = await client.chat.postMessage({ channel: "#ops", text: "hi" });
    expect(byName.channel).toBe(OPS);
    expect(await slackError(client.chat.postMessage({ channel: "C0NOPE", text: "x" }))).toBe(
      "channel_not_found",
    );
    expect(await slackError(client.chat.update({ channel: OPS, ts: "1.000001", text: "x" }))).toBe(
      "message_not_found",
    );
    expect(
      await slackError(client.chat.postMessage({ channel: OPS, thread_ts: "1.000001", text: "x" })),
    ).toBe("thread_not_found");
  });

  it("rejects a message without text or blocks, and text over 40,000 characters", async () => {
    expect(await slackError(client.chat.postMessage({ channel: OPS, text: "" }))).toBe("no_text");
    const limit = double.limits.maxMessageTextChars;
    await expect(
      client.chat.postMessage({ channel: OPS, text: "x".repeat(limit) }),
    ).resolves.toMatchObject({ ok: true });
    expect(
      await slackError(client.chat.postMessage({ channel: OPS, text: "x".repeat(limit + 1) })),
    ).toBe("msg_too_long");
    expect(double.messages(OPS)).toHaveLength(1);
  });

  it("posts ephemerals only to channel members and gives permalinks", async () => {
    const eph = await client.chat.postEphemeral({
      channel: OPS,
      user: "U0ALICE",
      text: "only you",
    });
    expect(eph.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(double.ephemerals).toMatchObject([
      { channel: OPS, user: "U0ALICE", text: "only you", via: "chat.postEphemeral" },
    ]);
    expect(
      await slackError(client.chat.postEphemeral({ channel: OPS, user: "U0MALLORY", text: "x" })),
    ).toBe("user_not_in_channel");

    const root = await client.chat.postMessage({ channel: OPS, text: "root" });
    const reply = await client.chat.postMessage({
      channel: OPS,
      thread_ts: root.ts as string,
      text: "reply",
    });
    const link = await client.chat.getPermalink({ channel: OPS, message_ts: reply.ts as string });
    expect(link.permalink).toBe(
      `https://double-workspace.slack.com/archives/${OPS}/p${(reply.ts as string).replace(".", "")}` +
        `?thread_ts=${root.ts}&cid=${OPS}`,
    );
  });
});

describe("directory methods", () => {
  it("answers auth.test with the bot identity", async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({
      ok: true,
      user_id: double.identity.user_id,
      bot_id: double.identity.bot_id,
      team_id: double.identity.team_id,
    });
  });

  it("lists usergroup members; an unknown group is no_such_subteam", async () => {
    const res = await client.usergroups.users.list({ usergroup: "S0ONCALL" });
    expect(res.users).toEqual(["U0ALICE", "U0BOB"]);
    double.setUsergroup("S0ONCALL", ["U0CAROL"]);
    expect((await client.usergroups.users.list({ usergroup: "S0ONCALL" })).users).toEqual([
      "U0CAROL",
    ]);
    expect(await slackError(client.usergroups.users.list({ usergroup: "S0NOPE" }))).toBe(
      "no_such_subteam",
    );
  });

  it("answers users.info and conversations.info", async () => {
    const user = await client.users.info({ user: "U0ALICE" });
    expect(user.user).toMatchObject({ id: "U0ALICE", name: "alice", real_name: "Alice A" });
    expect(await slackError(client.users.info({ user: "U0NOPE" }))).toBe("user_not_found");
    const conv = await client.conversations.info({ channel: OPS });
    expect(conv.channel).toMatchObject({ id: OPS, name: "ops" });
  });
});

describe("authentication", () => {
  it("rejects a wrong token with invalid_auth and a missing one with not_authed", async () => {
    expect(
      await slackError(clientFor("xoxb-wrong").chat.postMessage({ channel: OPS, text: "x" })),
    ).toBe("invalid_auth");
    expect(await slackError(clientFor(undefined).auth.test())).toBe("not_authed");
    expect(double.messages(OPS)).toEqual([]);
    expect(double.callsTo("chat.postMessage")[0]?.response.status).toBe(200);
  });

  it("answers an unknown method with unknown_method", async () => {
    expect(await slackError(client.apiCall("chat.teleport", { channel: OPS }))).toBe(
      "unknown_method",
    );
  });
});

describe("files.uploadV2", () => {
  it("lands a 200 KB buffer as a file in the right thread", async () => {
    const root = await client.chat.postMessage({ channel: OPS, text: "failover running" });
    const rootTs = root.ts as string;
    const bytes = randomBytes(200 * 1024);

    const res = await client.filesUploadV2({
      channel_id: OPS,
      thread_ts: rootTs,
      file: bytes,
      filename: "failover.log",
      title: "Failover log",
      initial_comment: "full output",
    });
    expect(res.ok).toBe(true);

    expect(double.calls.map((c) => c.method)).toEqual([
      "chat.postMessage",
      "files.getUploadURLExternal",
      UPLOAD,
      "files.completeUploadExternal",
    ]);
    expect(double.callsTo("files.getUploadURLExternal")[0]?.args).toMatchObject({
      filename: "failover.log",
      length: String(bytes.length),
    });
    expect(double.callsTo(UPLOAD)[0]?.contentType).toBe("multipart/form-data");

    const [file] = double.files;
    expect(file).toMatchObject({
      filename: "failover.log",
      title: "Failover log",
      channel: OPS,
      thread_ts: rootTs,
      initial_comment: "full output",
    });
    expect(file?.bytes?.equals(bytes)).toBe(true);

    const thread = double.thread(OPS, rootTs);
    expect(thread).toHaveLength(2);
    expect(thread[1]).toMatchObject({ text: "full output", files: [{ id: file?.id }] });
  });

  it("refuses to complete an upload whose bytes never arrived", async () => {
    const url = await client.files.getUploadURLExternal({ filename: "x.txt", length: 3 });
    expect(url.upload_url).toMatch(new RegExp(`^${double.origin}/upload/`));
    expect(
      await slackError(
        client.files.completeUploadExternal({
          files: [{ id: url.file_id as string }],
          channel_id: OPS,
        }),
      ),
    ).toBe("file_not_found");
    expect(double.files).toEqual([]);
  });
});

describe("response_url", () => {
  const respond = (url: string, body: Record<string, unknown>) =>
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });

  it("posts ephemeral by default, in_channel on request, and can delete the original", async () => {
    const root = await client.chat.postMessage({ channel: OPS, text: "plan" });
    const url = double.responseUrl({ channel: OPS, user: "U0ALICE", messageTs: root.ts as string });
    expect(url).toMatch(new RegExp(`^${double.origin}/response/`));

    expect((await respond(url, { text: "just you" })).status).toBe(200);
    expect((await respond(url, { text: "everyone", response_type: "in_channel" })).status).toBe(
      200,
    );
    expect((await respond(url, { delete_original: true })).status).toBe(200);

    expect(double.responses.map((r) => r.effect)).toEqual(["ephemeral", "in_channel", "deleted"]);
    expect(double.ephemerals).toMatchObject([{ user: "U0ALICE", text: "just you" }]);
    expect(double.messages(OPS).map((m) => m.text)).toEqual(["everyone"]);
    expect(double.callsTo("response_url")).toHaveLength(3);
  });

  it("allows five uses, rejects invalid blocks, and 404s an unknown url", async () => {
    const url = double.responseUrl({ channel: OPS, user: "U0ALICE" });
    const bad = await respond(url, { text: "x", blocks: [{ type: "header" }] });
    expect(bad.status).toBe(400);
    for (let i = 0; i < double.limits.responseUrlMaxUses - 1; i++) {
      expect((await respond(url, { text: `r${i}` })).status).toBe(200);
    }
    const used = await respond(url, { text: "one too many" });
    expect(used.status).toBe(404);
    expect(await used.json()).toEqual({ ok: false, error: "used_url" });
    expect((await respond(`${double.origin}/response/R0NOPE`, { text: "x" })).status).toBe(404);
  });
});

describe("waitForCall", () => {
  it("resolves on a matching call, including one already made, and times out otherwise", async () => {
    const pending = double.waitForCall("chat.postMessage", (c) => c.args.text === "second");
    await client.chat.postMessage({ channel: OPS, text: "first" });
    await client.chat.postMessage({ channel: OPS, text: "second" });
    expect((await pending).args.text).toBe("second");
    expect((await double.waitForCall("chat.postMessage")).args.text).toBe("first");
    await expect(double.waitForCall("chat.update", () => true, 50)).rejects.toThrow(
      /no matching chat.update call within 50 ms/,
    );
  });
});
