import { once } from "node:events";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor } from "../harness/redis-server.js";
import type { MachineSpec } from "../harness/topology.js";
import { dbsize, info } from "../integration/helpers.js";
import { blockActionsBody, clickButton, messageText, postSigned } from "../slack-double/index.js";
import { CHANNEL, SIGNING_SECRET, USERS } from "./bot-harness.js";
import {
  click,
  lifecycleScope,
  resumeOffer,
  rootOfNewPlan,
  runEnded,
  slash,
} from "./lifecycle-setup.js";

const scope = lifecycleScope();

async function setUp(spare: Partial<MachineSpec> = {}) {
  const lost = await scope.lostMaster(spare, { controlPlane: true });
  const { m, keys, topology: t, double: d, controlPlane, stateUrl } = lost;
  return { m, keys, t, d, controlPlane: controlPlane!, stateUrl: stateUrl! };
}

describe("two bot instances sharing STATE_REDIS_URL", () => {
  it("refuses a control-plane Redis that is one of the managed servers", async () => {
    const { t, d, m } = await setUp();
    const b = m["machine-b"]!;
    await expect(
      scope.bot(t.inventoryPath, { STATE_REDIS_URL: `redis://${b.ip}:${b.port}/0` }, { double: d }),
    ).rejects.toThrow(/cluster cache-test host machine-b/);
  });

  it("the same Approve click reaching both instances at the same moment starts exactly one run", async () => {
    const { m, keys, t, d, stateUrl } = await setUp();
    const one = await scope.bot(
      t.inventoryPath,
      { STATE_REDIS_URL: stateUrl, STATE_DIR: join(t.root, "one") },
      { double: d },
    );
    const two = await scope.bot(
      t.inventoryPath,
      { STATE_REDIS_URL: stateUrl, STATE_DIR: join(t.root, "two") },
      { double: d },
    );
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
    const { m, keys, t, d, stateUrl, controlPlane } = await setUp({
      start: "sleep 6; redis-server {config}",
    });
    const start = (dir: string) =>
      scope.process({
        double: d,
        inventoryPath: t.inventoryPath,
        stateDir: join(t.root, dir),
        env: { STATE_REDIS_URL: stateUrl },
      });
    const one = await start("one");
    const two = await start("two");
    await slash(one.url, d, "failover cache-test --mode replace");
    const ts = await rootOfNewPlan(d);
    await click(one.url, d, ts, ACTIONS.approve, USERS.bob);
    // Kill the executing instance while the spare's (slow) start command runs.
    await waitFor(
      async () => {
        const entries = await controlPlane.client().xrange("rfb:journal", "-", "+");
        return entries.some(([, fields]) =>
          /"type":"step-started".*"title":"Start Redis on machine-c"/.test(fields.join(" ")),
        );
      },
      { what: "the start step to begin", timeoutMs: 30_000 },
    );
    one.child.kill("SIGKILL");
    await once(one.child, "exit");

    const { offerTs } = await resumeOffer(d, ts);
    await click(two.url, d, offerTs, ACTIONS.resume, USERS.bob);
    expect(await runEnded(d, ts, "the resumed run")).toMatch(/Succeeded/);
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-c"]!.ip);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    expect(
      d.calls.filter((call) => JSON.stringify(call.args).includes("This run was interrupted")),
    ).toHaveLength(1);
  });
});
