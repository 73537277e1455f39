import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { loadData, waitFor, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { info, waitForLinkDown } from "../integration/helpers.js";
import {
  messageButtons,
  messageText,
  postToReceiver,
  signSlackRequest,
  slashCommandBody,
} from "../slack-double/index.js";
import { CHANNEL, type RunningBot, SIGNING_SECRET, startBot, USERS } from "./bot-harness.js";

let topology: TestTopology;
let running: RunningBot;
let m: Record<string, Machine>;

beforeAll(async () => {
  topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare" },
  ]);
  m = topology.machines as Record<string, Machine>;
  await loadData(m["machine-a"]!.server!, { keys: 3_000, valueBytes: 32 });
  await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
  running = await startBot(topology.inventoryPath);
});
afterAll(async () => {
  await running?.close();
  await topology?.close();
});

const ephemeralsFor = (user: string) =>
  running.double.ephemerals.filter((message) => message.user === user);

describe("requests that must not go anywhere", () => {
  it("rejects forged and stale signatures with 401", async () => {
    const body = slashCommandBody({
      text: "status cache-test",
      user_id: USERS.alice.id,
      channel_id: CHANNEL,
      response_url: running.double.responseUrl(),
    });
    const forged = await postToReceiver(running.url, body, {
      ...signSlackRequest("not-the-secret", body),
    });
    const stale = await postToReceiver(running.url, body, {
      ...signSlackRequest(SIGNING_SECRET, body, Math.floor(Date.now() / 1000) - 6 * 60),
    });
    expect([forged.status, stale.status]).toEqual([401, 401]);
  });

  it.each([
    ["failover nope", /unknown cluster `nope`; known clusters: `cache-test`/],
    ["failover cache-test --force", /unknown flag `--force`/],
    ["failover cache-test --mode", /`--mode` needs a value/],
    ["failover cache-test extra", /unexpected `extra` after the cluster name/],
  ])("answers %j with an ephemeral error and usage, and posts nothing", async (text, error) => {
    const before = running.double.callsTo("chat.postMessage").length;
    const reply = await running.command(text);
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body);
    expect(body.response_type).toBe("ephemeral");
    expect(JSON.stringify(body)).toMatch(error);
    expect(JSON.stringify(body)).toContain(
      "/redis failover &lt;cluster&gt; [--mode replace|promote|switchover]",
    );
    expect(running.double.callsTo("chat.postMessage").length).toBe(before);
  });

  it("refuses a cluster in a channel it is not allowed in", async () => {
    const reply = await running.command("failover cache-test --dry-run", USERS.alice, "C0RANDOM");
    expect(reply.body).toMatch(/can only be acted on from <#C0INCIDENT>/);
  });
});

describe("status", () => {
  it("acks at once, then answers with the topology at a glance", async () => {
    const reply = await running.command("status cache-test");
    expect(JSON.parse(reply.body).text).toMatch(/Reading the topology of cache-test/);
    const response = await waitFor(
      async () =>
        running.double.responses.find((post) => JSON.stringify(post.payload).includes("machine-b")),
      { what: "the status reply", timeoutMs: 10_000 },
    );
    expect(JSON.stringify(response.payload)).toMatch(/machine-a[^"]*master/);
  });
});

describe("a replace failover from Slack", () => {
  it("plans, refuses self-approval and strangers, runs on a second person's approval, and reports every step in the thread", async () => {
    await m["machine-a"]!.server!.kill();
    await waitForLinkDown(m["machine-b"]!);

    const ack = await running.command("failover cache-test --mode replace");
    expect(JSON.parse(ack.body)).toMatchObject({ response_type: "ephemeral" });
    expect(ack.body).toMatch(/Preflight/);

    const rootCall = await running.double.waitForCall(
      "chat.postMessage",
      (call) => call.args.channel === CHANNEL && !call.args.thread_ts,
      20_000,
    );
    const ts = String((rootCall.response.body as { ts: string }).ts);
    const root = () => running.double.message(CHANNEL, ts)!;
    expect(messageButtons(root()).map((button) => button.text)).toEqual(["Approve", "Reject"]);
    expect(messageText(root())).toMatch(/<@U0ALICE>/);
    expect(messageText(root())).toMatch(/sha256sum/);

    await running.click(ts, ACTIONS.approve, USERS.alice);
    await waitFor(
      async () =>
        ephemeralsFor(USERS.alice.id).some((message) => /two-person rule/.test(message.text ?? "")),
      {
        what: "the self-approval refusal",
        timeoutMs: 5_000,
      },
    );
    await running.click(ts, ACTIONS.approve, USERS.mallory);
    await waitFor(
      async () =>
        ephemeralsFor(USERS.mallory.id).some((message) =>
          /not an approver/.test(message.text ?? ""),
        ),
      {
        what: "the stranger's refusal",
        timeoutMs: 5_000,
      },
    );
    // Nothing ran: no step reply in the thread (the full plan may be attached there as a file).
    expect(
      running.double.thread(CHANNEL, ts).filter((message) => /Step \d+\//.test(message.text ?? "")),
    ).toEqual([]);
    expect(messageButtons(root()).map((button) => button.text)).toEqual(["Approve", "Reject"]);

    // Bob is an approver through the S0ONCALL user group; his double click starts one run.
    await Promise.all([
      running.click(ts, ACTIONS.approve, USERS.bob),
      running.click(ts, ACTIONS.approve, USERS.bob),
    ]);
    await waitFor(async () => /Succeeded|Failed/.test(messageText(root())), {
      what: "the run to finish",
      timeoutMs: 60_000,
    });
    await running.bot.idle();

    expect(messageText(root())).toMatch(/Succeeded/);
    expect(messageButtons(root())).toEqual([]);
    const replies = running.double.thread(CHANNEL, ts).slice(1);
    const stepReplies = replies.filter((reply) => /Step \d+\/\d+/.test(messageText(reply)));
    const stepNumbers = stepReplies.map((reply) =>
      Number(/Step (\d+)\//.exec(messageText(reply))?.[1]),
    );
    expect(new Set(stepNumbers).size).toBe(stepNumbers.length);
    expect(stepNumbers.length).toBeGreaterThanOrEqual(6);
    expect(
      stepReplies.find((reply) => /Copy the snapshot/.test(messageText(reply)))?.text ??
        messageText(stepReplies[2]!),
    ).toBeTruthy();
    expect(messageText(replies.at(-1)!)).toMatch(/<@U0BOB>/);
    expect(
      ephemeralsFor(USERS.bob.id).filter((message) => /already/.test(message.text ?? "")),
    ).toHaveLength(1);

    const c = m["machine-c"]!;
    expect((await info(c)).role).toBe("master");
    expect((await info(m["machine-b"]!)).master_host).toBe(c.ip);
    // Nothing Slack rejected, and no secret went out.
    expect(
      running.double.calls.filter((call) => (call.response.body as { ok?: boolean }).ok === false),
    ).toEqual([]);
  });
});
