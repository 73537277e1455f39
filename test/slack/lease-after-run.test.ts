import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/slack/types.js";
import { waitFor } from "../harness/redis-server.js";
import { dbsize, info } from "../integration/helpers.js";
import { USERS } from "./bot-harness.js";
import { click, lifecycleScope, rootOfNewPlan, runEnded, slash } from "./lifecycle-setup.js";

const scope = lifecycleScope();
const LOCK_KEY = "rfb:lock:cache-test";

/** Every command the control-plane Redis runs, as MONITOR reports it (scripts' calls too). */
async function monitor(host: string, port: number) {
  const redis = new Redis({ host, port });
  redis.on("error", () => {});
  const commands: string[][] = [];
  const feed = await redis.monitor();
  feed.on("monitor", (_time: string, args: string[]) => {
    commands.push(args.map(String));
  });
  return {
    commands,
    stop: () => {
      feed.disconnect();
      redis.disconnect();
    },
  };
}

const onLock = (args: string[]) => args.includes(LOCK_KEY);
/** The renewal script (PEXPIRE if still ours), or the PEXPIRE it runs. */
const isRenewal = (args: string[]) =>
  onLock(args) &&
  (args[0]?.toLowerCase() === "pexpire" ||
    (args[0]?.toLowerCase() === "eval" && /PEXPIRE/.test(args[1] ?? "")));
/** The release script (DEL if still ours), or the DEL it runs. */
const isRelease = (args: string[]) =>
  onLock(args) &&
  (args[0]?.toLowerCase() === "del" ||
    (args[0]?.toLowerCase() === "eval" && /"DEL"/.test(args[1] ?? "")));
/** The start of a journal read: Recovery and outbox redelivery each read it every few seconds. */
const isJournalScan = (args: string[]) =>
  args[0]?.toLowerCase() === "xrange" &&
  args.at(-2)?.toUpperCase() === "COUNT" &&
  args.at(-1) === "1";

describe("the cluster lock after its run", () => {
  it("is renewed while the run goes on, released when it ends, and then neither renewed nor taken again", {
    timeout: 180_000,
  }, async () => {
    const gate = await scope.gate();
    const {
      topology: t,
      double: d,
      controlPlane,
      stateUrl,
      stateDir,
      m,
      keys,
    } = await scope.lostMaster({ start: gate.start }, { controlPlane: true });
    const watch = await monitor(controlPlane!.host, controlPlane!.port);
    try {
      // LOCK_LEASE_SECONDS=2 (the test default): a renewal every 2/3 s while the lock is held.
      const bot = await scope.process({
        double: d,
        inventoryPath: t.inventoryPath,
        stateDir,
        env: { STATE_REDIS_URL: stateUrl! },
      });
      await slash(bot.url, d, "failover cache-test --mode replace");
      const ts = await rootOfNewPlan(d);
      await click(bot.url, d, ts, ACTIONS.approve, USERS.bob);
      // The run waits in the spare's start command (run by the copy step right after the install)
      // until the gate opens: the lease is renewed meanwhile.
      await waitFor(async () => watch.commands.some(isRenewal), {
        what: "a renewal of the lease while the run holds it",
        timeoutMs: 60_000,
      });
      await gate.open();
      expect(await runEnded(d, ts)).toMatch(/Succeeded/);
      await waitFor(async () => watch.commands.some(isRelease), {
        what: "the lock to be released",
        timeoutMs: 30_000,
      });
      const afterRelease = () => watch.commands.slice(watch.commands.findLastIndex(isRelease) + 1);
      // The bot's own periodic journal scans mark the time: two of them after the release
      // span several renewal periods.
      await waitFor(async () => afterRelease().filter(isJournalScan).length >= 2, {
        what: "two journal scans after the release",
        timeoutMs: 60_000,
      });
      // Nothing touched the lock after the release but reads (Recovery asking who holds it).
      expect(
        afterRelease()
          .filter(onLock)
          .filter((args) => !["get", "pttl"].includes(args[0]?.toLowerCase() ?? "")),
      ).toEqual([]);
      expect(await controlPlane!.client().exists(LOCK_KEY)).toBe(0);
      expect(bot.child.exitCode).toBeNull();
    } finally {
      watch.stop();
    }
    // Every server's role after the replace: C the master with every key, B its replica.
    expect((await info(m["machine-a"]!).catch(() => ({ role: "down" }))).role).toBe("down");
    expect((await info(m["machine-c"]!)).role).toBe("master");
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-c"]!.ip);
    expect(await dbsize(m["machine-c"]!)).toBe(keys);
    await waitFor(async () => (await dbsize(m["machine-b"]!)) === keys, {
      what: "machine-b to hold every key",
      timeoutMs: 30_000,
    });
  });
});
