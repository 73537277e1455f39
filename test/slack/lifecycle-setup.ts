import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { JournalRecord } from "../../src/state/types.js";
import { allocateAddressBlock, freePort } from "../harness/addresses.js";
import {
  loadData,
  type RedisServer,
  startRedis,
  waitForReplicaSync,
} from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { waitForLinkDown } from "../integration/helpers.js";
import {
  blockActionsBody,
  clickButton,
  postSigned,
  type SlackDouble,
  slashCommandBody,
  startSlackDouble,
} from "../slack-double/index.js";
import { CHANNEL, SIGNING_SECRET, startBotProcess, USERS } from "./bot-harness.js";

/**
 * A lost master ready for `--mode promote` on machines without SSH (A down; B and C its
 * replicas, caught up), a control-plane Redis for STATE_REDIS_URL, and the Slack double.
 */
export async function promoteSetup(options: { saveBeforeKill?: boolean } = {}): Promise<{
  topology: TestTopology;
  m: Record<string, Machine>;
  keys: number;
  controlPlane: RedisServer;
  stateUrl: string;
  double: SlackDouble;
}> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master", noSsh: true },
    { name: "machine-b", role: "replica", noSsh: true },
    { name: "machine-c", role: "replica", noSsh: true },
  ]);
  const m = topology.machines as Record<string, Machine>;
  const server = (name: string) => m[name]?.server as NonNullable<Machine["server"]>;
  const keys = await loadData(server("machine-a"), { keys: 1_000, valueBytes: 16 });
  await waitForReplicaSync(server("machine-a"), server("machine-b"));
  await waitForReplicaSync(server("machine-a"), server("machine-c"));
  // A snapshot on disk lets someone bring A back by hand, data and all.
  if (options.saveBeforeKill) await server("machine-a").client().save();
  await server("machine-a").kill();
  await waitForLinkDown(m["machine-b"] as Machine);
  await waitForLinkDown(m["machine-c"] as Machine);
  const ip = allocateAddressBlock().ip(1);
  const controlPlane = await startRedis({
    name: "control-plane",
    host: ip,
    port: await freePort(ip),
    dir: join(topology.root, "control-plane"),
  });
  const double = await startSlackDouble({
    channels: [{ id: CHANNEL, name: "incident" }],
    usergroups: { S0ONCALL: [USERS.bob.id] },
  });
  return {
    topology,
    m,
    keys,
    controlPlane,
    stateUrl: `redis://${controlPlane.host}:${controlPlane.port}/0`,
    double,
  };
}

/** The bot's entry point as a process; `log()` is everything it wrote since it started. */
export async function botProcess(options: {
  double: SlackDouble;
  inventoryPath: string;
  stateDir: string;
  env?: Record<string, string>;
}): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  // The bot listens on every address: the port must be free on all of them, not just one.
  const port = await freePort("0.0.0.0");
  const child = await startBotProcess({ ...options, port });
  let log = "";
  child.stderr?.on("data", (chunk) => {
    log += chunk;
  });
  return { child, url: `http://127.0.0.1:${port}/slack/events`, log: () => log };
}

export function slash(url: string, double: SlackDouble, text: string, user = USERS.alice) {
  return postSigned(
    url,
    SIGNING_SECRET,
    slashCommandBody({
      text,
      user_id: user.id,
      channel_id: CHANNEL,
      response_url: double.responseUrl({ channel: CHANNEL, user: user.id }),
    }),
  );
}

export function click(
  url: string,
  double: SlackDouble,
  ts: string,
  actionId: string,
  user: (typeof USERS)[keyof typeof USERS],
) {
  return postSigned(
    url,
    SIGNING_SECRET,
    blockActionsBody(clickButton(double, { channel: CHANNEL, ts, actionId, user })),
  );
}

export async function rootOfNewPlan(double: SlackDouble): Promise<string> {
  const call = await double.waitForCall(
    "chat.postMessage",
    (candidate) => !candidate.args.thread_ts,
    30_000,
  );
  return String((call.response.body as { ts: string }).ts);
}

/**
 * Calls `onRecord` with each journal record appended to the control plane from now on, as
 * soon as Redis has it (a blocking XREAD on its own connection). Returns a stop function.
 */
export function watchJournal(
  controlPlane: RedisServer,
  onRecord: (record: JournalRecord) => boolean | undefined,
): () => void {
  const reader = new Redis({
    host: controlPlane.host,
    port: controlPlane.port,
    lazyConnect: false,
  });
  reader.on("error", () => {});
  let stopped = false;
  void (async () => {
    let last = "$";
    while (!stopped) {
      const reply = (await reader
        .xread("BLOCK", 0, "STREAMS", "rfb:journal", last)
        .catch(() => null)) as Array<[string, Array<[string, string[]]>]> | null;
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          const json = fields[fields.indexOf("r") + 1];
          if (json && onRecord(JSON.parse(json) as JournalRecord)) stopped = true;
        }
      }
    }
    reader.disconnect();
  })();
  return () => {
    stopped = true;
    reader.disconnect();
  };
}
