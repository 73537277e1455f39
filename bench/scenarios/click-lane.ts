import { ACTIONS } from "../../src/slack/types.js";
import { waitForReplicaSync } from "../../test/harness/redis-server.js";
import { buildTopology, type Machine } from "../../test/harness/topology.js";
import { CHANNEL, SIGNING_SECRET, startBot, USERS } from "../../test/slack/bot-harness.js";
import {
  FORM_CONTENT_TYPE,
  signSlackRequest,
  slashCommandBody,
} from "../../test/slack-double/index.js";
import { log, type Measurement, measurement } from "../lib.js";
import { fire } from "../slack-bot.js";

/**
 * One user's burst of 50 `/redis status` against another user's Abort: the time from Bob's
 * click to the bot's answer (its ephemeral reply), during the burst and with the bot idle.
 * Clicks have their own lane, so the burst must not delay them noticeably.
 */
export async function clickLane(options: { runs: number; burst: number }): Promise<Measurement> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master", noSsh: true },
    { name: "machine-b", role: "replica", noSsh: true },
  ]);
  const m = topology.machines as Record<string, Machine>;
  await waitForReplicaSync(
    m["machine-a"]?.server as NonNullable<Machine["server"]>,
    m["machine-b"]?.server as NonNullable<Machine["server"]>,
  );
  // Debug logging of every request (the test default) would dominate what is measured.
  process.env.BOT_LOG_LEVEL ??= "warn";
  const running = await startBot(topology.inventoryPath);
  try {
    // A message with an Abort button for a run that is not running: the click is answered
    // with an ephemeral "no running failover", which is what we time.
    const posted = (await (
      await fetch(`${running.double.apiUrl}chat.postMessage`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json; charset=utf-8",
          Authorization: `Bearer ${running.double.botToken}`,
        },
        body: JSON.stringify({
          channel: CHANNEL,
          text: "bench",
          blocks: [
            {
              type: "actions",
              block_id: "bench_actions",
              elements: [
                {
                  type: "button",
                  action_id: ACTIONS.abort,
                  text: { type: "plain_text", text: "Abort" },
                  value: "fo-bench-not-running",
                },
              ],
            },
          ],
        }),
      })
    ).json()) as { ts: string };
    const answered = async () => {
      const before = running.double.ephemerals.filter((e) => e.user === USERS.bob.id).length;
      const started = performance.now();
      await running.click(posted.ts, ACTIONS.abort, USERS.bob);
      while (running.double.ephemerals.filter((e) => e.user === USERS.bob.id).length <= before)
        await new Promise((resolve) => setTimeout(resolve, 2));
      return performance.now() - started;
    };
    const idle: number[] = [];
    const underBurst: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      idle.push(await answered());
      await running.bot.idle();
      // The burst comes from another process, as Slack's requests would.
      const body = slashCommandBody({
        text: "status cache-test",
        user_id: USERS.mallory.id,
        channel_id: CHANNEL,
        response_url: running.double.responseUrl({ channel: CHANNEL, user: USERS.mallory.id }),
      });
      const repliesBefore = running.double.responses.length;
      const burst = fire(
        Array.from({ length: options.burst }, () => ({
          url: running.url,
          body,
          headers: { "Content-Type": FORM_CONTENT_TYPE, ...signSlackRequest(SIGNING_SECRET, body) },
        })),
      );
      while (running.double.responses.length === repliesBefore)
        await new Promise((resolve) => setTimeout(resolve, 2));
      underBurst.push(await answered());
      await burst;
      await running.bot.idle();
      const answeredSlowly = running.double.responses.length - repliesBefore;
      log(
        `click lane: Abort answered in ${underBurst.at(-1)?.toFixed(1)} ms during a burst of ${options.burst} status (${answeredSlowly} run, the rest refused at once by the per-user limit), ${idle.at(-1)?.toFixed(1)} ms idle`,
      );
      await running.bot.idle();
    }
    return measurement("abort_answer_during_status_burst_ms", underBurst, idle, "ms", {
      baselineIs: "the same click with the bot idle",
      goal: "< 2× idle",
      met: (_ours, _baseline, ratio) => ratio < 2,
    });
  } finally {
    await running.close();
    await topology.close();
  }
}
