import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { FORM } from "../../src/slack/blocks/failover-form.js";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { info } from "../integration/helpers.js";
import {
  type ActionUser,
  messageButtons,
  messageText,
  type OpenedView,
  postSigned,
  readViewReply,
  type SlackDouble,
  slashCommandBody,
  startSlackDouble,
  submitView,
  viewSubmissionBody,
} from "../slack-double/index.js";
import { CHANNEL, type RunningBot, SIGNING_SECRET, startBot, USERS } from "./bot-harness.js";

let topology: TestTopology;
let double: SlackDouble;
let running: RunningBot;
let m: Record<string, Machine>;

beforeAll(async () => {
  topology = await buildTopology([
    { name: "machine-a", role: "master", noSsh: true },
    { name: "machine-b", role: "replica", noSsh: true },
    { name: "machine-c", role: "replica", noSsh: true },
  ]);
  m = topology.machines as Record<string, Machine>;
  await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
  await waitForReplicaSync(m["machine-a"]!.server!, m["machine-c"]!.server!);
  // Two more clusters on the same servers: one also allowed in the incident channel (its
  // hosts are offered too, under its name), one allowed only in #random (never offered here).
  const inventory = parse(await readFile(topology.inventoryPath, "utf8")) as {
    clusters: Record<string, { channels: string[] }>;
  };
  const base = inventory.clusters["cache-test"]!;
  inventory.clusters["cache-other"] = structuredClone(base);
  inventory.clusters["cache-elsewhere"] = { ...structuredClone(base), channels: ["C0RANDOM"] };
  await writeFile(topology.inventoryPath, stringify(inventory));
  double = await startSlackDouble({
    channels: [
      { id: CHANNEL, name: "incident" },
      { id: "C0RANDOM", name: "random" },
      { id: "C0LOBBY", name: "lobby" },
    ],
    usergroups: { S0ONCALL: [USERS.bob.id] },
    // Slack gives 3 s to use a trigger_id; the bot uses it at once, but a test must not depend
    // on how busy the machine is. The 3 s rule itself is tested with a trigger made old.
    limits: { triggerTtlMs: 10 * 60_000 },
  });
  running = await startBot(topology.inventoryPath, {}, { double });
});
afterAll(async () => {
  await running?.close();
  await double?.close();
  await topology?.close();
});

/** Types `/redis failover` alone and returns the form the bot opened. */
async function openForm(user: ActionUser = USERS.alice): Promise<OpenedView> {
  const before = double.views.length;
  const reply = await running.command("failover", user);
  expect(reply.status).toBe(200);
  // An empty acknowledgement: Slack shows nothing, the form opens instead.
  expect(reply.body).toBe("");
  return waitFor(async () => double.views[before], {
    what: "the form to open",
    timeoutMs: 10_000,
  });
}

function submit(view: OpenedView, values: Record<string, string | string[]>, user = USERS.alice) {
  return postSigned(
    running.url,
    SIGNING_SECRET,
    viewSubmissionBody(submitView(double, { viewId: view.id, user, values })),
  );
}

type Json = Record<string, unknown>;
const input = (view: OpenedView, blockId: string) =>
  (view.view.blocks as Json[]).find((block) => block.block_id === blockId)?.element as Json;
const optionValues = (options: unknown) => (options as Json[]).map((option) => option.value);

const roots = () =>
  double
    .callsTo("chat.postMessage")
    .filter((call) => call.args.channel === CHANNEL && !call.args.thread_ts);

describe("the failover form", () => {
  it("opens on `/redis failover` alone, offering the clusters allowed in the channel, the modes and their hosts", async () => {
    const view = await openForm();
    expect(view.view.callback_id).toBe(FORM.callbackId);
    expect(JSON.parse(String(view.view.private_metadata))).toMatchObject({ channel: CHANNEL });
    expect(optionValues(input(view, FORM.blocks.cluster).options).sort()).toEqual([
      "cache-other",
      "cache-test",
    ]);
    expect(optionValues(input(view, FORM.blocks.mode).options)).toEqual([
      "auto",
      "replace",
      "promote",
      "switchover",
    ]);
    const groups = input(view, FORM.blocks.spare).option_groups as Json[];
    expect(groups.map((group) => (group.label as Json).text).sort()).toEqual([
      "cache-other",
      "cache-test",
    ]);
    const testHosts = groups.find((group) => (group.label as Json).text === "cache-test");
    expect(optionValues(testHosts?.options)).toEqual([
      "cache-test/machine-a",
      "cache-test/machine-b",
      "cache-test/machine-c",
    ]);
    expect(double.callsTo("views.open").at(-1)?.response.body).toMatchObject({ ok: true });
  });

  it.each([
    [
      "a spare of another cluster",
      { [FORM.blocks.spare]: "cache-other/machine-c" },
      FORM.blocks.spare,
      /machine-c is a host of cache-other, not of cache-test/,
    ],
    [
      "the same host as spare and replica",
      {
        [FORM.blocks.spare]: "cache-test/machine-b",
        [FORM.blocks.replica]: "cache-test/machine-b",
      },
      FORM.blocks.replica,
      /--spare and --replica must name different hosts/,
    ],
  ])("refuses %s under that field, and plans nothing", async (_what, values, block, message) => {
    const view = await openForm();
    const before = roots().length;
    const reply = await submit(view, {
      [FORM.blocks.cluster]: "cache-test",
      [FORM.blocks.mode]: "switchover",
      ...values,
    });
    const answer = readViewReply(double, view.id, reply);
    expect(answer).toMatchObject({ action: "errors" });
    expect(Object.keys((answer as { errors: Json }).errors)).toEqual([block]);
    expect(String((answer as { errors: Json }).errors[block])).toMatch(message);
    const runs = await running.bot.lifecycle.journal.runs();
    expect([...runs.values()].filter((run) => run.state === "awaiting-approval")).toEqual([]);
    expect(roots().length).toBe(before);
  });

  it("posts the plan of a good submission in the channel, journals it, mentions the approvers, and keeps the two-person rule", async () => {
    const view = await openForm();
    const reply = await submit(view, {
      [FORM.blocks.cluster]: "cache-test",
      [FORM.blocks.mode]: "switchover",
      [FORM.blocks.replica]: "cache-test/machine-c",
    });
    expect(readViewReply(double, view.id, reply)).toEqual({ action: "clear" });
    // The form's answers reach the requester where the command was typed.
    await waitFor(
      async () =>
        double.responses.some(
          (post) =>
            post.context.user === USERS.alice.id &&
            /Preflight for `cache-test`/.test(String(post.payload.text)),
        ),
      { what: "the preflight notice", timeoutMs: 10_000 },
    );
    const rootCall = await double.waitForCall(
      "chat.postMessage",
      (call) => call.args.channel === CHANNEL && !call.args.thread_ts,
      30_000,
    );
    const ts = String((rootCall.response.body as { ts: string }).ts);
    const root = () => double.message(CHANNEL, ts)!;
    expect(messageText(root())).toMatch(/SWITCHOVER/);
    expect(messageText(root())).toMatch(/machine-c/);
    for (const mention of ["<@U0APPROVER>", "<!subteam^S0ONCALL>"]) {
      expect(root().text).toContain(mention);
      expect(messageText({ blocks: root().blocks ?? [] })).toContain(mention);
    }
    expect(messageButtons(root()).map((button) => button.text)).toEqual(["Approve", "Reject"]);
    // The posted record follows Slack's answer.
    const run = await waitFor(
      async () =>
        [...(await running.bot.lifecycle.journal.runs()).values()].find(
          (candidate) => candidate.rootTs === ts,
        ),
      { what: "the request in the journal", timeoutMs: 10_000 },
    );
    expect(run).toMatchObject({
      cluster: "cache-test",
      requester: USERS.alice.id,
      channel: CHANNEL,
      state: "awaiting-approval",
      dryRun: false,
    });
    expect(run?.plan.newMaster.name).toBe("machine-c");

    await running.click(ts, ACTIONS.approve, USERS.alice);
    await running.click(ts, ACTIONS.approve, USERS.mallory);
    await waitFor(
      async () =>
        double.ephemerals.some(
          (e) => e.user === USERS.alice.id && /two-person rule/.test(e.text),
        ) &&
        double.ephemerals.some(
          (e) => e.user === USERS.mallory.id && /not an approver/.test(e.text),
        ),
      { what: "both refusals", timeoutMs: 10_000 },
    );
    await running.click(ts, ACTIONS.reject, USERS.alice);
    await waitFor(async () => /Rejected/.test(messageText(root())), {
      what: "the rejection",
      timeoutMs: 10_000,
    });
    // Once decided, the approvers are no longer called on.
    expect(messageText({ blocks: root().blocks ?? [] })).not.toContain("<!subteam^S0ONCALL>");
    expect((await info(m["machine-a"]!)).role).toBe("master");
    expect((await info(m["machine-c"]!)).master_host).toBe(m["machine-a"]!.ip);
  });

  it("posts a dry run from the form without buttons and without calling on the approvers", async () => {
    const view = await openForm();
    const before = roots().length;
    const reply = await submit(view, {
      [FORM.blocks.cluster]: "cache-other",
      [FORM.blocks.dryRun]: ["dry-run"],
    });
    expect(readViewReply(double, view.id, reply)).toEqual({ action: "clear" });
    await waitFor(async () => roots().length > before, { what: "the dry run", timeoutMs: 30_000 });
    const ts = String((roots().at(-1)!.response.body as { ts: string }).ts);
    const root = double.message(CHANNEL, ts)!;
    expect(messageText(root)).toMatch(/[Dd]ry run/);
    expect(messageButtons(root)).toEqual([]);
    expect(messageText(root)).not.toContain("<!subteam^S0ONCALL>");
  });

  it("tells the requester where the command was typed when Slack will not post the plan, and withdraws it", async () => {
    const view = await openForm();
    const from = double.responses.length;
    double.updateChannel(CHANNEL, { is_member: false });
    try {
      const reply = await submit(view, {
        [FORM.blocks.cluster]: "cache-test",
        [FORM.blocks.mode]: "switchover",
      });
      expect(readViewReply(double, view.id, reply)).toEqual({ action: "clear" });
      const told = await waitFor(
        async () =>
          double.responses
            .slice(from)
            .find((post) => /could not be posted/.test(String(post.payload.text))),
        { what: "the requester to be told", timeoutMs: 30_000 },
      );
      expect(told.context).toMatchObject({ channel: CHANNEL, user: USERS.alice.id });
      expect(String(told.payload.text)).toMatch(/\/invite @redis-failover-bot/);
    } finally {
      double.updateChannel(CHANNEL, { is_member: true });
    }
    expect(await running.bot.lifecycle.busyRun("cache-test")).toBeUndefined();
  });

  it("tells the requester when Slack refuses to open the form because its trigger expired", async () => {
    const reply = await postSigned(
      running.url,
      SIGNING_SECRET,
      slashCommandBody({
        text: "failover",
        user_id: USERS.alice.id,
        channel_id: CHANNEL,
        response_url: double.responseUrl({ channel: CHANNEL, user: USERS.alice.id }),
        trigger_id: double.triggerId({ ageMs: 11 * 60_000 }),
      }),
    );
    expect(reply.body).toBe("");
    const told = await waitFor(
      async () =>
        double.responses.find((post) => /form could not be opened/.test(String(post.payload.text))),
      { what: "the explanation", timeoutMs: 10_000 },
    );
    expect(String(told.payload.text)).toMatch(/expired_trigger_id/);
    expect(JSON.stringify(told.payload)).toContain("/redis failover &lt;cluster&gt;");
  });

  it("shares its checks with the typed command: an unknown host is refused at once, naming the cluster's hosts", async () => {
    const before = roots().length;
    const reply = await running.command("failover cache-test --spare machine-z");
    expect(reply.body).toMatch(
      /cluster `cache-test` has no host `machine-z`; its hosts are: `machine-a`, `machine-b`, `machine-c`/,
    );
    expect(roots().length).toBe(before);
  });

  it("is not opened where no cluster may be failed over, and says where to go", async () => {
    const before = double.callsTo("views.open").length;
    const lobby = await running.command("failover", USERS.alice, "C0LOBBY");
    expect(lobby.body).toMatch(
      /no cluster can be failed over from this channel: `cache-test` in <#C0INCIDENT>/,
    );
    const dm = await running.command("failover", USERS.alice, "D0ALICE");
    expect(JSON.parse(dm.body).text).toMatch(/direct message/);
    expect(double.callsTo("views.open").length).toBe(before);
  });
});
