import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor } from "../harness/redis-server.js";
import { client, dbsize, info } from "../integration/helpers.js";
import { messageButtons, messageText } from "../slack-double/index.js";
import { CHANNEL, USERS } from "./bot-harness.js";
import { click, lifecycleScope, resumeOffer, rootOfNewPlan, slash } from "./lifecycle-setup.js";

const scope = lifecycleScope();

describe("Resume after someone repaired the cluster by hand", () => {
  it("changes nothing, says what changed, and Dismiss (by an approver) records the run as abandoned and unblocks the cluster", {
    timeout: 180_000,
  }, async () => {
    const setup = await scope.promote({ saveBeforeKill: true });
    const { m, keys, double: d, stateDir } = setup;
    const journalFile = join(stateDir, "journal.log");
    const first = await scope.process({
      double: d,
      inventoryPath: setup.topology.inventoryPath,
      stateDir,
    });
    await slash(first.url, d, "failover cache-test --mode promote");
    const ts = await rootOfNewPlan(d);
    await click(first.url, d, ts, ACTIONS.approve, USERS.bob);
    // The bot dies mid-run: stopped as soon as the journal shows step 2 began, then killed.
    await waitFor(
      async () =>
        /"type":"step-started"[^\n]*"index":2/.test(
          await readFile(journalFile, "utf8").catch(() => ""),
        ),
      { what: "step 2 to begin", timeoutMs: 30_000, intervalMs: 5 },
    );
    first.child.kill("SIGSTOP");
    first.child.kill("SIGKILL");
    await once(first.child, "exit");

    // On-call repairs A by hand: A answers as master again with its data; B and C follow it.
    const a = m["machine-a"]!;
    await setup.topology.startRedisOn("machine-a");
    for (const name of ["machine-b", "machine-c"]) {
      const redis = client(m[name]!);
      await redis.replicaof(a.ip, a.port);
      redis.disconnect();
    }
    for (const name of ["machine-b", "machine-c"])
      await waitFor(async () => (await info(m[name]!)).master_link_status === "up", {
        what: `${name} to follow machine-a`,
        timeoutMs: 30_000,
      });

    const running = await scope.bot(
      setup.topology.inventoryPath,
      {},
      { double: d, recoveryIntervalMs: 300 },
    );
    const { offerTs } = await resumeOffer(d, ts);
    expect(messageButtons(d.message(CHANNEL, offerTs)!).map((b) => b.text)).toEqual([
      "Resume",
      "Dismiss",
    ]);
    await running.click(offerTs, ACTIONS.resume, USERS.bob);
    const refused = await d.waitForCall(
      "chat.postMessage",
      (call) =>
        call.args.thread_ts === ts && /Resume changed nothing/.test(JSON.stringify(call.args)),
      30_000,
    );
    expect(JSON.stringify(refused.args)).toMatch(/machine-a answers as master again/);
    const refusedTs = String((refused.response.body as { ts: string }).ts);
    // Nothing was changed: A is still the master, B and C still follow it.
    expect((await info(a)).role).toBe("master");
    expect((await info(m["machine-b"]!)).master_host).toBe(a.ip);

    // A new request is refused while the interrupted run blocks the cluster…
    await running.command("failover cache-test --mode switchover");
    await waitFor(
      async () =>
        d.responses.some((post) => /already interrupted/.test(JSON.stringify(post.payload))),
      { what: "the refusal naming the interrupted run", timeoutMs: 20_000 },
    );
    // …until an approver dismisses it (the requester cannot: two-person rule).
    await running.click(refusedTs, ACTIONS.dismiss, USERS.alice);
    await waitFor(
      async () =>
        d.ephemerals.some((e) => e.user === USERS.alice.id && /Not dismissed/.test(e.text ?? "")),
      { what: "the requester's refusal", timeoutMs: 20_000 },
    );
    await running.click(refusedTs, ACTIONS.dismiss, USERS.bob);
    await waitFor(async () => /Dismissed/.test(messageText(d.message(CHANNEL, ts)!)), {
      what: "the root message to say Dismissed",
      timeoutMs: 20_000,
    });
    const records = (await readFile(journalFile, "utf8")).trim().split("\n");
    const dismissed = records.find((line) => line.includes('"type":"dismissed"'));
    expect(dismissed).toContain(`"by":"${USERS.bob.id}"`);
    expect(dismissed).toMatch(
      /Resume found the servers changed: machine-a answers as master again/,
    );

    const before = d.callsTo("chat.postMessage").filter((call) => !call.args.thread_ts).length;
    await running.command("failover cache-test --mode switchover");
    await waitFor(
      async () =>
        d.callsTo("chat.postMessage").filter((call) => !call.args.thread_ts).length > before,
      { what: "a new plan for the unblocked cluster", timeoutMs: 30_000 },
    );
    const next = d
      .callsTo("chat.postMessage")
      .filter((call) => !call.args.thread_ts)
      .at(-1)!;
    await running.click(
      String((next.response.body as { ts: string }).ts),
      ACTIONS.reject,
      USERS.alice,
    );
    await running.bot.idle();

    // Every server's role: A master, B and C its replicas; no data lost.
    expect((await info(a)).role).toBe("master");
    for (const name of ["machine-b", "machine-c"]) {
      expect((await info(m[name]!)).master_host).toBe(a.ip);
      expect(await dbsize(m[name]!)).toBe(keys);
    }
    expect(await dbsize(a)).toBe(keys);
  });
});
