import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { replay } from "../../src/state/replay.js";
import { waitFor } from "../harness/redis-server.js";
import { dbsize, info } from "../integration/helpers.js";
import { messageText } from "../slack-double/index.js";
import { CHANNEL, USERS } from "./bot-harness.js";
import {
  click,
  redisJournal as journal,
  lifecycleScope,
  resumeOffer,
  rootOfNewPlan,
  runEnded,
  slash,
} from "./lifecycle-setup.js";

const scope = lifecycleScope();

/** Starts a promote run approved by Bob; freezes the control plane as step 2 starts. */
async function runFrozenAtStep2() {
  const setup = await scope.promote();
  const bot = await scope.process({
    double: setup.double,
    inventoryPath: setup.topology.inventoryPath,
    stateDir: setup.stateDir,
    env: { STATE_REDIS_URL: setup.stateUrl },
  });
  await slash(bot.url, setup.double, "failover cache-test --mode promote");
  const ts = await rootOfNewPlan(setup.double);
  let frozen = false;
  const probe = new Redis({ host: setup.controlPlane.host, port: setup.controlPlane.port });
  probe.on("error", () => {});
  scope.watch(setup.controlPlane, (record) => {
    if (record.type === "step-started" && record.index === 2) {
      // The step is in progress now. One round trip first: Redis answers it only after it
      // has written every reply of its previous event-loop turn, the bot's XADD among them,
      // so the bot has its step-started acknowledged and really runs the step.
      void probe.ping().then(() => {
        process.kill(setup.controlPlane.pid, "SIGSTOP");
        frozen = true;
        probe.disconnect();
      });
      return true;
    }
    return false;
  });
  await click(bot.url, setup.double, ts, ACTIONS.approve, USERS.bob);
  await waitFor(async () => frozen, { what: "step 2 to start", timeoutMs: 30_000 });
  return { ...setup, bot, ts };
}

describe("the control-plane Redis freezes during a run", () => {
  it("the bot stays up, the step in progress finishes, the run stops before the next step and says why; after SIGCONT it is offered for Resume and finishes", {
    timeout: 180_000,
  }, async () => {
    const { bot, ts, m, keys, double: d, controlPlane: cp } = await runFrozenAtStep2();
    const stopped = await d.waitForCall(
      "chat.postMessage",
      (call) =>
        call.args.thread_ts === ts &&
        /stopped before its next step/.test(JSON.stringify(call.args)),
      60_000,
    );
    expect(JSON.stringify(stopped.args)).toMatch(/state backend|lock|journal/);
    // The step in progress (promote machine-b) finished while the control plane was frozen.
    expect((await info(m["machine-b"]!)).role).toBe("master");
    expect(bot.child.exitCode).toBeNull();

    await cp.resume();
    const { offerTs } = await resumeOffer(d, ts);
    await click(bot.url, d, offerTs, ACTIONS.resume, USERS.bob);
    expect(await runEnded(d, ts, "the resumed run")).toMatch(/Succeeded/);

    // Every server's role: A down (its process was killed), B master, C replica of B; no data lost.
    expect(m["machine-a"]!.server!.isRunning()).toBe(false);
    expect((await info(m["machine-b"]!)).role).toBe("master");
    await waitFor(async () => (await info(m["machine-c"]!)).master_link_status === "up", {
      what: "machine-c to follow machine-b",
      timeoutMs: 30_000,
    });
    expect((await info(m["machine-c"]!)).master_host).toBe(m["machine-b"]!.ip);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    await waitFor(async () => (await dbsize(m["machine-c"]!)) === keys, {
      what: "machine-c to hold every key",
      timeoutMs: 30_000,
    });
    const run = [...replay(await journal(cp)).values()][0];
    expect(run?.state).toBe("succeeded");
    expect(run?.attempts).toBe(2);
    expect(bot.child.exitCode).toBeNull();
    expect(bot.log()).not.toMatch(/unhandledRejection/);
  });

  it("Abort works while the control plane is frozen: the run stops before its next step, and the abort is recorded once the control plane answers", {
    timeout: 180_000,
  }, async () => {
    const { bot, ts, m, keys, double: d, controlPlane: cp } = await runFrozenAtStep2();
    await click(bot.url, d, ts, ACTIONS.abort, USERS.bob);
    await waitFor(async () => /Abort requested by/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the abort to show on the root message",
      timeoutMs: 30_000,
    });
    await waitFor(async () => /Aborted/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the run to stop",
      timeoutMs: 60_000,
    });
    expect(bot.child.exitCode).toBeNull();

    await cp.resume();
    await waitFor(async () => [...replay(await journal(cp)).values()][0]?.state === "aborted", {
      what: "the abort to be recorded",
      timeoutMs: 60_000,
    });
    const run = [...replay(await journal(cp)).values()][0];
    expect(run?.decidedBy).toBe(USERS.bob.id);
    // No step after the one in progress ran: step 3 never started.
    expect(run?.steps.has(3)).toBe(false);

    // Every server's role: A down, B master (step 2 finished), C still a replica of the old
    // master A (link down); no data lost.
    expect(m["machine-a"]!.server!.isRunning()).toBe(false);
    expect((await info(m["machine-b"]!)).role).toBe("master");
    expect((await info(m["machine-c"]!)).master_host).toBe(m["machine-a"]!.ip);
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
    expect(bot.log()).not.toMatch(/unhandledRejection/);
  });
});
