import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { allocateAddressBlock, freePort } from "../harness/addresses.js";
import { type RedisServer, startRedis, waitFor } from "../harness/redis-server.js";
import type { MachineSpec, TestTopology } from "../harness/topology.js";
import { dbsize, info, lostMasterTopology } from "../integration/helpers.js";
import {
  blockActionsBody,
  clickButton,
  messageText,
  postSigned,
  type SlackDouble,
  slashCommandBody,
  startSlackDouble,
} from "../slack-double/index.js";
import {
  CHANNEL,
  type RunningBot,
  SIGNING_SECRET,
  startBot,
  startBotProcess,
  USERS,
} from "./bot-harness.js";

let topology: TestTopology | undefined;
let controlPlane: RedisServer | undefined;
let double: SlackDouble | undefined;
const bots: RunningBot[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const bot of bots.splice(0)) await bot.close().catch(() => undefined);
  await double?.close();
  await controlPlane?.stop();
  await topology?.close();
  topology = undefined;
  controlPlane = undefined;
  double = undefined;
});

async function setUp(spare: Partial<MachineSpec> = {}) {
  const lost = await lostMasterTopology(spare);
  topology = lost.topology;
  const { m, keys } = lost;
  const ip = allocateAddressBlock().ip(1);
  controlPlane = await startRedis({
    name: "control-plane",
    host: ip,
    port: await freePort(ip),
    dir: join(topology.root, "control-plane"),
  });
  double = await startSlackDouble({
    channels: [{ id: CHANNEL, name: "incident" }],
    usergroups: { S0ONCALL: [USERS.bob.id] },
  });
  const stateUrl = `redis://${controlPlane.host}:${controlPlane.port}/0`;
  return { m, keys, t: topology, d: double, stateUrl };
}

async function rootOfNewPlan(d: SlackDouble): Promise<string> {
  const call = await d.waitForCall(
    "chat.postMessage",
    (candidate) => !candidate.args.thread_ts,
    20_000,
  );
  return String((call.response.body as { ts: string }).ts);
}

describe("two bot instances sharing STATE_REDIS_URL", () => {
  it("refuses a control-plane Redis that is one of the managed servers", async () => {
    const { t, d, m } = await setUp();
    const b = m["machine-b"]!;
    await expect(
      startBot(t.inventoryPath, { STATE_REDIS_URL: `redis://${b.ip}:${b.port}/0` }, { double: d }),
    ).rejects.toThrow(/cluster cache-test host machine-b/);
  });

  it("the same Approve click reaching both instances at the same moment starts exactly one run", async () => {
    const { m, keys, t, d, stateUrl } = await setUp();
    const one = await startBot(
      t.inventoryPath,
      { STATE_REDIS_URL: stateUrl, STATE_DIR: join(t.root, "one") },
      { double: d },
    );
    const two = await startBot(
      t.inventoryPath,
      { STATE_REDIS_URL: stateUrl, STATE_DIR: join(t.root, "two") },
      { double: d },
    );
    bots.push(one, two);
    await one.command("failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    const body = blockActionsBody(
      clickButton(d, { channel: CHANNEL, ts, actionId: ACTIONS.approve, user: USERS.bob }),
    );
    const replies = await Promise.all([
      postSigned(one.url, SIGNING_SECRET, body),
      postSigned(two.url, SIGNING_SECRET, body),
    ]);
    expect(replies.map((reply) => reply.status)).toEqual([200, 200]);

    await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the run",
      timeoutMs: 60_000,
    });
    await Promise.all([one.bot.idle(), two.bot.idle()]);
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
    const stepOneReplies = d
      .thread(CHANNEL, ts)
      .filter((message) => /^Step 1\//.test(message.text ?? ""));
    expect(stepOneReplies).toHaveLength(1);
    const ran = [one, two].filter((bot) =>
      bot.logLines.some((line) => line.includes("run attempt started under the cluster lock")),
    );
    expect(ran).toHaveLength(1);
    expect(
      d.ephemerals
        .filter((message) => message.user === USERS.bob.id)
        .map((message) => message.text),
    ).toEqual([
      expect.stringMatching(/Nothing was done: this request was already (approved|decided)/),
    ]);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
  });

  it("when the executing instance dies, the other one sees the lease expire and offers Resume in the thread", {
    timeout: 240_000,
  }, async () => {
    const { m, keys, t, d, stateUrl } = await setUp({ start: "sleep 6; redis-server {config}" });
    const start = async (port: number, dir: string) => {
      const child = await startBotProcess({
        double: d,
        inventoryPath: t.inventoryPath,
        port,
        stateDir: join(t.root, dir),
        env: { STATE_REDIS_URL: stateUrl },
      });
      children.push(child);
      return child;
    };
    const [portOne, portTwo] = [await freePort("0.0.0.0"), await freePort("0.0.0.0")];
    const one = await start(portOne, "one");
    await start(portTwo, "two");
    const urlOne = `http://127.0.0.1:${portOne}/slack/events`;
    await postSigned(
      urlOne,
      SIGNING_SECRET,
      slashCommandBody({
        text: "failover cache-test --mode replace",
        user_id: USERS.alice.id,
        channel_id: CHANNEL,
        response_url: d.responseUrl(),
      }),
    );
    const ts = await rootOfNewPlan(d);
    await postSigned(
      urlOne,
      SIGNING_SECRET,
      blockActionsBody(
        clickButton(d, { channel: CHANNEL, ts, actionId: ACTIONS.approve, user: USERS.bob }),
      ),
    );
    // Kill the executing instance while the spare's (slow) start command runs.
    await waitFor(
      async () => {
        const entries = await controlPlane!.client().xrange("rfb:journal", "-", "+");
        return entries.some(([, fields]) =>
          /"type":"step-started".*"title":"Start Redis on machine-c"/.test(fields.join(" ")),
        );
      },
      { what: "the start step to begin", timeoutMs: 30_000 },
    );
    one.kill("SIGKILL");
    await once(one, "exit");

    const offer = await d.waitForCall(
      "chat.postMessage",
      (call) =>
        call.args.thread_ts === ts &&
        JSON.stringify(call.args).includes("This run was interrupted"),
      30_000,
    );
    const offerTs = String((offer.response.body as { ts: string }).ts);
    const urlTwo = `http://127.0.0.1:${portTwo}/slack/events`;
    await postSigned(
      urlTwo,
      SIGNING_SECRET,
      blockActionsBody(
        clickButton(d, {
          channel: CHANNEL,
          ts: offerTs,
          actionId: ACTIONS.resume,
          user: USERS.bob,
        }),
      ),
    );
    await waitFor(async () => /Succeeded|Failed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the resumed run",
      timeoutMs: 60_000,
    });
    expect(messageText(d.message(CHANNEL, ts)!)).toMatch(/Succeeded/);
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-c"]!.ip);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    expect(
      d.calls.filter((call) => JSON.stringify(call.args).includes("This run was interrupted")),
    ).toHaveLength(1);
  });
});
