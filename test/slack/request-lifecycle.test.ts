import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { info } from "../integration/helpers.js";
import { messageButtons, messageText } from "../slack-double/index.js";
import { CHANNEL, type RunningBot, startBot, USERS } from "./bot-harness.js";

let topology: TestTopology;
let running: RunningBot;

beforeAll(async () => {
  topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
  ]);
  const m = topology.machines as Record<string, Machine>;
  await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
  // Plans expire after 1.2 s here, so the expiry test needs no clock tricks and no long wait.
  running = await startBot(topology.inventoryPath, { APPROVAL_TIMEOUT_MINUTES: "0.02" });
});
afterAll(async () => {
  await running?.close();
  await topology?.close();
});

async function requestPlan(text: string): Promise<string> {
  const before = running.double.callsTo("chat.postMessage").length;
  await running.command(text);
  await waitFor(async () => running.double.callsTo("chat.postMessage").length > before, {
    what: "the plan message",
    timeoutMs: 10_000,
  });
  const call = running.double.callsTo("chat.postMessage").at(-1)!;
  return String((call.response.body as { ts: string }).ts);
}

const root = (ts: string) => running.double.message(CHANNEL, ts)!;

describe("the life of a request", () => {
  it("--dry-run posts the plan with no buttons and no expiry", async () => {
    const ts = await requestPlan("failover cache-test --dry-run");
    expect(messageText(root(ts))).toMatch(/[Dd]ry run/);
    expect(messageText(root(ts))).toMatch(/FAILOVER TO/);
    expect(messageButtons(root(ts))).toEqual([]);
  });

  it("refuses a second request for the same cluster while one awaits approval, naming it", async () => {
    const ts = await requestPlan("failover cache-test --mode switchover");
    await running.command("failover cache-test --mode switchover");
    // The journal says who holds the cluster: the refusal follows the ack, through response_url.
    await waitFor(
      async () =>
        running.double.responses.some((post) =>
          /already awaiting approval \(run fo-[\w-]+/.test(JSON.stringify(post.payload)),
        ),
      { what: "the refusal naming the pending run", timeoutMs: 10_000 },
    );
    await running.click(ts, ACTIONS.reject, USERS.alice);
    await waitFor(async () => /Rejected/.test(messageText(root(ts))), {
      what: "the rejection",
      timeoutMs: 5_000,
    });
  });

  it("Reject by the requester ends the request: the message says who, and loses its buttons", async () => {
    const ts = await requestPlan("failover cache-test --mode switchover");
    await running.click(ts, ACTIONS.reject, USERS.mallory);
    await waitFor(
      async () =>
        running.double.ephemerals.some(
          (message) =>
            message.user === USERS.mallory.id &&
            /Only the requester or an approver can reject/.test(message.text ?? ""),
        ),
      {
        what: "the stranger's refusal",
        timeoutMs: 5_000,
      },
    );
    await running.click(ts, ACTIONS.reject, USERS.alice);
    await waitFor(async () => /Rejected/.test(messageText(root(ts))), {
      what: "the rejection",
      timeoutMs: 5_000,
    });
    expect(messageText(root(ts))).toMatch(/<@U0ALICE>/);
    expect(messageButtons(root(ts))).toEqual([]);
    expect((await info((topology.machines as Record<string, Machine>)["machine-a"]!)).role).toBe(
      "master",
    );
  });

  it("expires unapproved plans: the message says so, loses its buttons, and a late click does nothing", async () => {
    const ts = await requestPlan("failover cache-test --mode switchover");
    // Bob's Slack still shows the buttons when he clicks, after the plan expired.
    const lateClick = running.aim(ts, ACTIONS.approve, USERS.bob);
    await waitFor(async () => /[Ee]xpired/.test(messageText(root(ts))), {
      what: "the expiry",
      timeoutMs: 10_000,
    });
    expect(messageButtons(root(ts))).toEqual([]);
    expect((await lateClick()).status).toBe(200);
    await waitFor(
      async () =>
        running.double.ephemerals.some(
          (message) => message.user === USERS.bob.id && /already expired/.test(message.text ?? ""),
        ),
      {
        what: "the late click's answer",
        timeoutMs: 5_000,
      },
    );
    expect((await info((topology.machines as Record<string, Machine>)["machine-a"]!)).role).toBe(
      "master",
    );
  });
});
