import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { info } from "../integration/helpers.js";
import {
  type ChannelSpec,
  messageButtons,
  messageText,
  type SlackDouble,
  startSlackDouble,
} from "../slack-double/index.js";
import { CHANNEL, type RunningBot, startBot, USERS } from "./bot-harness.js";

let topology: TestTopology;
let double: SlackDouble;
let running: RunningBot;
let m: Record<string, Machine>;

/** The bot's user name in this workspace: what `/invite @…` must name. */
const BOT_NAME = "failover-bot-under-test";

beforeAll(async () => {
  topology = await buildTopology([
    { name: "machine-a", role: "master", noSsh: true },
    { name: "machine-b", role: "replica", noSsh: true },
  ]);
  m = topology.machines as Record<string, Machine>;
  await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
  // Probes wait as long as a frozen server stays frozen: `status` is then in progress until
  // the test thaws it, whatever the machine's speed.
  const inventory = parse(await readFile(topology.inventoryPath, "utf8")) as {
    clusters: Record<string, { timeouts?: Record<string, number> }>;
  };
  inventory.clusters["cache-test"]!.timeouts = { connectMs: 600_000, commandMs: 600_000 };
  await writeFile(topology.inventoryPath, stringify(inventory));
  double = await startSlackDouble({
    channels: [{ id: CHANNEL, name: "incident" }],
    usergroups: { S0ONCALL: [USERS.bob.id] },
    identity: { user: BOT_NAME },
  });
  running = await startBot(topology.inventoryPath, {}, { double });
});
afterAll(async () => {
  await running?.close();
  await double?.close();
  await topology?.close();
});

/** The first answer to Alice through response_url matching `pattern`, from the `from`-th on. */
const told = (pattern: RegExp, from: number) =>
  double.responses
    .slice(from)
    .find(
      (post) => post.context.user === USERS.alice.id && pattern.test(String(post.payload.text)),
    );

describe("a plan Slack will not post", () => {
  it.each<[string, Partial<ChannelSpec>, RegExp]>([
    [
      "not_in_channel",
      { is_member: false },
      new RegExp(`not a member of <#${CHANNEL}>\\. Invite it there with \`/invite @${BOT_NAME}\``),
    ],
    [
      "channel_not_found",
      { is_member: false, is_private: true },
      new RegExp(`private channel it has not been invited to.*\`/invite @${BOT_NAME}\``),
    ],
    ["is_archived", { is_archived: true }, new RegExp(`<#${CHANNEL}> is archived\\. Unarchive it`)],
  ])(
    "%s: the requester is told why and how to fix it, and the cluster is free for the next request",
    async (error, channelState, advice) => {
      double.updateChannel(CHANNEL, channelState);
      const from = double.responses.length;
      await running.command("failover cache-test --mode switchover");
      const answer = await waitFor(async () => told(/could not be posted/, from), {
        what: "the requester to be told",
        timeoutMs: 30_000,
      });
      const text = String(answer.payload.text);
      expect(text).toMatch(advice);
      expect(text).toMatch(
        /was withdrawn, so `cache-test` is not blocked by it\. Nothing was changed\./,
      );
      expect(answer.effect).toBe("ephemeral");
      expect(double.callsTo("chat.postMessage").at(-1)?.response.body).toMatchObject({
        ok: false,
        error,
      });
      // The journal ends the request: rejected by the bot on Slack's word, nobody's approval pending.
      const runId = /run (fo-[\w-]+)/.exec(text)?.[1];
      const run = await running.bot.lifecycle.journal.run(String(runId));
      expect(run).toMatchObject({ state: "rejected", decidedBy: `slack:${error}` });
      expect(await running.bot.lifecycle.busyRun("cache-test")).toBeUndefined();

      // Someone fixes the channel; the same request is accepted and its plan posted at once.
      double.updateChannel(CHANNEL, { is_member: true, is_private: false, is_archived: false });
      await running.command("failover cache-test --mode switchover");
      const rootCall = await double.waitForCall(
        "chat.postMessage",
        (call) =>
          call.args.channel === CHANNEL &&
          !call.args.thread_ts &&
          (call.response.body as { ok: boolean }).ok,
        30_000,
      );
      const ts = String((rootCall.response.body as { ts: string }).ts);
      expect(messageButtons(double.message(CHANNEL, ts)!).map((b) => b.text)).toEqual([
        "Approve",
        "Reject",
      ]);
      await running.click(ts, ACTIONS.reject, USERS.alice);
      await waitFor(async () => /Rejected/.test(messageText(double.message(CHANNEL, ts)!)), {
        what: "the rejection",
        timeoutMs: 10_000,
      });
      double.clearCalls();
      expect((await info(m["machine-a"]!)).role).toBe("master");
      expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
    },
  );
});

describe("a request refused for too many in progress", () => {
  it("leaves the cluster free: the next request is planned, not told one is being planned", async () => {
    const replicaB = m["machine-b"]!.server!;
    const from = double.responses.length;
    await replicaB.pause();
    try {
      for (let i = 0; i < 3; i++) {
        const status = await running.command("status cache-test");
        expect(JSON.parse(status.body).text).toMatch(/Reading the topology of cache-test/);
      }
      // machine-b is frozen: Alice's three status commands are still in progress.
      const refused = await running.command("failover cache-test --mode switchover");
      expect(JSON.parse(refused.body).text).toMatch(/You already have 3 requests in progress/);
    } finally {
      await replicaB.resume();
    }
    await waitFor(
      async () =>
        double.responses
          .slice(from)
          .filter((post) => /machine-b/.test(JSON.stringify(post.payload))).length === 3,
      { what: "the three status answers", timeoutMs: 60_000 },
    );
    const accepted = await running.command("failover cache-test --mode switchover");
    expect(JSON.parse(accepted.body).text).toMatch(/Preflight for `cache-test`/);
    const rootCall = await double.waitForCall(
      "chat.postMessage",
      (call) =>
        call.args.channel === CHANNEL &&
        !call.args.thread_ts &&
        (call.response.body as { ok: boolean }).ok,
      30_000,
    );
    const ts = String((rootCall.response.body as { ts: string }).ts);
    await running.click(ts, ACTIONS.reject, USERS.alice);
    await waitFor(async () => /Rejected/.test(messageText(double.message(CHANNEL, ts)!)), {
      what: "the rejection",
      timeoutMs: 10_000,
    });
    expect((await info(m["machine-a"]!)).role).toBe("master");
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
  });
});
