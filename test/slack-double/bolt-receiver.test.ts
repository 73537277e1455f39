import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { App } from "@slack/bolt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  blockActionsBody,
  clickButton,
  messageButtons,
  postSigned,
  postToReceiver,
  type SlackDouble,
  signSlackRequest,
  slashCommandBody,
  startSlackDouble,
} from "./index.js";
import { type RecordingLogger, recordingLogger } from "./recording-logger.js";

const SECRET = "d0ub1e-signing-secret-0123456789abcdef";
const OPS = "C0OPS00001";
const ALICE = { id: "U0ALICE", username: "alice" };

let double: SlackDouble;
let app: App | undefined;
let logger: RecordingLogger;
let url: string;
const seen: string[] = [];
/** The "slow" command's listener holds until the test opens this gate. */
let openSlowGate = () => {};
let slowGate = Promise.resolve();
function closeSlowGate(): void {
  slowGate = new Promise((resolve) => {
    openSlowGate = resolve;
  });
}

/** A real Bolt App on its default HTTPReceiver, talking to the double. */
async function startApp(processBeforeResponse = false): Promise<void> {
  logger = recordingLogger();
  app = new App({
    token: double.botToken,
    signingSecret: SECRET,
    logger,
    processBeforeResponse,
    clientOptions: { slackApiUrl: double.apiUrl, retryConfig: { retries: 0 } },
  });
  app.command("/redis", async ({ command, ack, respond, client }) => {
    seen.push(`command:${command.text}`);
    await ack("Working on it");
    await respond({ response_type: "ephemeral", text: `Planning ${command.text}` });
    await client.chat.postMessage({
      channel: command.channel_id,
      text: "Failover plan",
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `Plan for ${command.text}` } },
        {
          type: "actions",
          block_id: "decision",
          elements: [
            {
              type: "button",
              action_id: "approve",
              text: { type: "plain_text", text: "Approve" },
              value: "plan-1",
            },
            {
              type: "button",
              action_id: "reject",
              text: { type: "plain_text", text: "Reject" },
              value: "plan-1",
            },
          ],
        },
      ],
    });
    if (command.text === "slow") {
      seen.push("slow:holding");
      await slowGate;
      seen.push("slow:done");
    }
  });
  app.action("approve", async ({ ack, body, client }) => {
    await ack();
    if (body.type !== "block_actions" || !body.message || !body.channel) return;
    seen.push(`approve:${body.user.id}:${body.actions[0]?.type}`);
    await client.chat.update({
      channel: body.channel.id,
      ts: body.message.ts,
      text: `Approved by <@${body.user.id}>`,
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `Approved by <@${body.user.id}>` } },
      ],
    });
  });
  app.action("reject", async ({ ack, respond }) => {
    await ack();
    await respond({ replace_original: true, text: "Rejected" });
  });
  const server = await app.start({ port: 0, host: "127.0.0.1" });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
}

function command(text: string): string {
  return slashCommandBody({
    text,
    user_id: ALICE.id,
    user_name: ALICE.username,
    channel_id: OPS,
    response_url: double.responseUrl({ channel: OPS, user: ALICE.id }),
  });
}

beforeEach(async () => {
  seen.length = 0;
  double = await startSlackDouble({ channels: [{ id: OPS, name: "ops" }] });
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await double.close();
});

describe("Bolt App with the HTTP receiver", () => {
  it("calls auth.test at construction", async () => {
    await startApp();
    const call = await double.waitForCall("auth.test");
    expect(call.token).toBe(double.botToken);
  });

  it("with deferInitialization, a failing auth.test surfaces from init() and the app can retry", async () => {
    double.failNext("auth.test", { error: "invalid_auth" });
    const deferred = new App({
      token: double.botToken,
      signingSecret: SECRET,
      logger: recordingLogger(),
      deferInitialization: true,
      clientOptions: { slackApiUrl: double.apiUrl, retryConfig: { retries: 0 } },
    });
    expect(double.callsTo("auth.test")).toEqual([]);
    await expect(deferred.init()).rejects.toMatchObject({ data: { error: "invalid_auth" } });
    expect(() => deferred.start({ port: 0, host: "127.0.0.1" })).toThrow(/not yet initialized/);
    await deferred.init();
    expect(double.callsTo("auth.test").map((c) => c.response.status)).toEqual([200, 200]);
  });

  it("accepts a signed slash command; respond() and chat.postMessage land in the double", async () => {
    await startApp();
    const reply = await postSigned(url, SECRET, command("promote cache-1"));
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("Working on it");

    const post = await double.waitForCall("chat.postMessage");
    expect(post.args.channel).toBe(OPS);
    expect(post.args.team_id).toBe("T0DOUBLE01"); // Bolt's per-team client adds team_id
    expect(seen).toEqual(["command:promote cache-1"]);
    expect(double.responses).toMatchObject([
      {
        effect: "ephemeral",
        status: 200,
        payload: { response_type: "ephemeral", text: "Planning promote cache-1" },
      },
    ]);
    expect(double.ephemerals).toMatchObject([
      { channel: OPS, user: ALICE.id, text: "Planning promote cache-1", via: "response_url" },
    ]);
    const [plan] = double.messages(OPS);
    expect(messageButtons(plan ?? {}).map((b) => b.action_id)).toEqual(["approve", "reject"]);
  });

  it("rejects a forged signature with 401 and never runs the listener", async () => {
    await startApp();
    const body = command("promote cache-1");
    const forged = signSlackRequest("not-the-secret", body);
    const reply = await postToReceiver(url, body, { ...forged });
    expect(reply.status).toBe(401);
    const unsigned = await postToReceiver(url, body);
    expect(unsigned.status).toBe(401);
    const tampered = await postToReceiver(url, body.replace("cache-1", "cache-2"), {
      ...signSlackRequest(SECRET, body),
    });
    expect(tampered.status).toBe(401);
    await sleep(50);
    expect(seen).toEqual([]);
    expect(double.callsTo("chat.postMessage")).toEqual([]);
  });

  it("rejects a correctly signed request older than 5 minutes with 401", async () => {
    await startApp();
    const stale = Math.floor(Date.now() / 1000) - 5 * 60 - 1;
    expect((await postSigned(url, SECRET, command("promote"), stale)).status).toBe(401);
    const recent = Math.floor(Date.now() / 1000) - 4 * 60;
    expect((await postSigned(url, SECRET, command("promote"), recent)).status).toBe(200);
  });

  it("a button click from the double's message state drives the action listener", async () => {
    await startApp();
    await postSigned(url, SECRET, command("promote cache-1"));
    const post = await double.waitForCall("chat.postMessage");
    const ts = (post.response.body as { ts: string }).ts;

    const click = clickButton(double, { channel: OPS, ts, actionId: "approve", user: ALICE });
    expect((await postSigned(url, SECRET, blockActionsBody(click))).status).toBe(200);
    await double.waitForCall("chat.update");

    expect(seen).toContain(`approve:${ALICE.id}:button`);
    const msg = double.message(OPS, ts);
    expect(msg?.text).toBe(`Approved by <@${ALICE.id}>`);
    expect(messageButtons(msg ?? {})).toEqual([]);
    // The buttons are gone, so nobody can click them any more.
    expect(() =>
      clickButton(double, { channel: OPS, ts, actionId: "reject", user: ALICE }),
    ).toThrow(/has no button reject/);
  });

  it("respond({ replace_original }) from an action replaces the clicked message", async () => {
    await startApp();
    await postSigned(url, SECRET, command("promote cache-1"));
    const post = await double.waitForCall("chat.postMessage");
    const ts = (post.response.body as { ts: string }).ts;

    const click = clickButton(double, { channel: OPS, ts, actionId: "reject", user: ALICE });
    await postSigned(url, SECRET, blockActionsBody(click));
    await double.waitForCall("response_url", (c) => c.args.replace_original === true);
    expect(double.message(OPS, ts)?.text).toBe("Rejected");
    expect(double.responses.at(-1)).toMatchObject({
      effect: "replaced",
      context: { messageTs: ts },
    });
  });

  it("processBeforeResponse holds the HTTP reply until the listener finishes", async () => {
    // What the listener had done when the HTTP reply arrived.
    const doneAtReply = async (reply: ReturnType<typeof postSigned>) => {
      const { body } = await reply;
      return { body, done: seen.includes("slow:done") };
    };

    closeSlowGate();
    await startApp(false);
    const quick = await doneAtReply(postSigned(url, SECRET, command("slow")));
    expect(quick).toEqual({ body: "Working on it", done: false });
    openSlowGate();
    await expect.poll(() => seen).toContain("slow:done");
    await app?.stop();

    seen.length = 0;
    closeSlowGate();
    await startApp(true);
    const held = doneAtReply(postSigned(url, SECRET, command("slow")));
    await expect.poll(() => seen).toContain("slow:holding");
    openSlowGate();
    expect(await held).toEqual({ body: "Working on it", done: true });
  });
});
