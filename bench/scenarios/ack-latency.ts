import { join } from "node:path";
import { ACTIONS } from "../../src/slack/types.js";
import { loadData, waitFor, waitForReplicaSync } from "../../test/harness/redis-server.js";
import { buildTopology, type Machine } from "../../test/harness/topology.js";
import { CHANNEL, SIGNING_SECRET, USERS } from "../../test/slack/bot-harness.js";
import {
  blockActionsBody,
  clickButton,
  FORM_CONTENT_TYPE,
  messageText,
  signSlackRequest,
} from "../../test/slack-double/index.js";
import { log, type Measurement, measurement, percentile } from "../lib.js";
import { approvedRun, fire, slashBody, startCompiledBot } from "../slack-bot.js";
import { waitForLink } from "./topology.js";

const SLACK_LIMIT_MS = 3_000;

/**
 * 200 signed slash commands and button clicks fired at once at the bot's HTTP receiver while a
 * failover runs: the 99th percentile time to the HTTP 200. The bot runs as in production (the
 * compiled `npm start` entry, its own process); the load comes from another process over warm
 * keep-alive connections, and Slack's Web API is the double.
 */
export async function ackLatency(options: { requests: number }): Promise<Measurement> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare", start: "sleep 8; redis-server {config}" },
  ]);
  const bot = await startCompiledBot({
    inventoryPath: topology.inventoryPath,
    stateDir: join(topology.root, "bot-state"),
  }).catch(async (error: unknown) => {
    await topology.close();
    throw error;
  });
  const { double, url } = bot;
  try {
    const m = topology.machines as Record<string, Machine>;
    const [a, b] = [m["machine-a"], m["machine-b"]] as [Machine, Machine];
    await loadData(a.server as NonNullable<Machine["server"]>, { keys: 2_000, valueBytes: 64 });
    await waitForReplicaSync(
      a.server as NonNullable<Machine["server"]>,
      b.server as NonNullable<Machine["server"]>,
    );
    await a.server?.kill();
    await waitForLink(b, "down");
    const ts = await approvedRun(bot, "failover cache-test --mode replace");
    await waitFor(
      async () =>
        double
          .callsTo("chat.postMessage")
          // The spare's slow start runs inside the copy step's command (after the install).
          .some(
            (call) =>
              call.args.thread_ts === ts && /Copy the snapshot/.test(String(call.args.text)),
          ),
      { what: "the run to reach its slow step", timeoutMs: 60_000 },
    );
    // Half status commands, half a stranger pressing Abort (acknowledged, refused, no effect).
    const abortClick = blockActionsBody(
      clickButton(double, { channel: CHANNEL, ts, actionId: ACTIONS.abort, user: USERS.mallory }),
    );
    const bodies = Array.from({ length: options.requests }, (_, i) =>
      i % 2 === 0
        ? slashBody(double, "status cache-test", i % 4 === 0 ? USERS.mallory.id : USERS.alice.id)
        : abortClick,
    );
    const jobs = bodies.map((body) => ({
      url,
      body,
      headers: { "Content-Type": FORM_CONTENT_TYPE, ...signSlackRequest(SIGNING_SECRET, body) },
    }));
    const results = await fire(jobs);
    const failed = results.filter((result) => result.status !== 200);
    if (failed.length > 0)
      throw new Error(
        `${failed.length} of ${results.length} requests were not acknowledged with 200`,
      );
    const latencies = results.map((result) => result.ms);
    const p99 = percentile(latencies, 99);
    log(
      `ack latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length}`,
    );
    await waitFor(
      async () => /Succeeded|Failed/.test(messageText(double.message(CHANNEL, ts) ?? {})),
      { what: "the run to end", timeoutMs: 120_000 },
    );
    if (!/Succeeded/.test(messageText(double.message(CHANNEL, ts) ?? {})))
      throw new Error("the failover under load did not succeed");
    return measurement("ack_p99_ms", [p99], [SLACK_LIMIT_MS], "ms", {
      baselineIs: "Slack's 3,000 ms limit",
      goal: "< 100 ms",
      met: (ours) => ours < 100,
    });
  } finally {
    await bot.close();
    await topology.close();
  }
}
