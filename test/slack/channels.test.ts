import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { waitFor } from "../harness/redis-server.js";
import type { Machine, TestTopology } from "../harness/topology.js";
import { info, replicatedPair } from "../integration/helpers.js";
import { type RunningBot, startBot, USERS } from "./bot-harness.js";

let topology: TestTopology;
let running: RunningBot;
let noChannels: RunningBot;

beforeAll(async () => {
  ({ topology } = await replicatedPair());
  running = await startBot(topology.inventoryPath);
  // The same cluster with `channels: []`, in a directory of its own (its own state too).
  const inventory = parse(await readFile(topology.inventoryPath, "utf8")) as {
    clusters: Record<string, { channels?: string[] }>;
  };
  for (const cluster of Object.values(inventory.clusters)) cluster.channels = [];
  const emptyPath = join(topology.root, "no-channels", "inventory.yml");
  await mkdir(join(topology.root, "no-channels"));
  await writeFile(emptyPath, stringify(inventory));
  noChannels = await startBot(emptyPath, {}, { double: running.double });
});
afterAll(async () => {
  await noChannels?.close();
  await running?.close();
  await topology?.close();
});

const reply = (body: string) => JSON.parse(body) as { text: string };

describe("where a failover can be requested", () => {
  it("refuses a failover from a channel not in the cluster's channels, with the reason; status still works there", async () => {
    const refused = await running.command(
      "failover cache-test --mode switchover",
      USERS.alice,
      "C0RANDOM",
    );
    expect(reply(refused.body).text).toMatch(/can only be acted on from &lt;#C0INCIDENT&gt;/);
    expect(refused.body).toMatch(/approvers watch/);
    const status = await running.command("status cache-test", USERS.alice, "C0RANDOM");
    expect(reply(status.body).text).toMatch(/Reading the topology of cache-test/);
    await waitFor(
      async () =>
        running.double.responses.some((post) => /machine-b/.test(JSON.stringify(post.payload))),
      { what: "the status reply in the other channel", timeoutMs: 20_000 },
    );
  });

  it("refuses a failover from a direct message, where no approver sees it; help works there", async () => {
    const refused = await running.command(
      "failover cache-test --mode switchover",
      USERS.alice,
      "D0ALICE",
    );
    expect(refused.body).toMatch(/direct message/);
    const help = await running.command("help", USERS.alice, "D0ALICE");
    expect(help.body).toMatch(/\/redis failover/);
  });

  it("with `channels: []`, refuses every failover request and says to list the incident channels; history still works", async () => {
    const refused = await noChannels.command("failover cache-test --mode switchover");
    expect(refused.body).toMatch(/list its incident channels under `channels`/);
    const history = await noChannels.command("history cache-test", USERS.alice, "C0RANDOM");
    expect(reply(history.body).text).toMatch(/Reading the journal/);
    // Nothing was posted and nothing changed: machine-a is still the master, B its replica.
    expect(
      running.double.callsTo("chat.postMessage").filter((call) => !call.args.thread_ts),
    ).toEqual([]);
    const m = topology.machines as Record<string, Machine>;
    expect((await info(m["machine-a"]!)).role).toBe("master");
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
  });
});
