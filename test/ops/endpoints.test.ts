import type { Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inventoryCheck, slackCheck } from "../../src/ops/checks.js";
import { Metrics } from "../../src/ops/metrics.js";
import { Readiness } from "../../src/ops/readiness.js";
import { opsRoutes, portOf, startOpsServer } from "../../src/ops/routes.js";
import { ACTIONS } from "../../src/slack/types.js";
import { allocateAddressBlock, freePort } from "../harness/addresses.js";
import {
  loadData,
  type RedisServer,
  startRedis,
  waitFor,
  waitForReplicaSync,
} from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { dbsize, info, waitForLinkDown } from "../integration/helpers.js";
import { CHANNEL, type RunningBot, startBot, USERS } from "../slack/bot-harness.js";
import { messageText } from "../slack-double/index.js";

async function get(url: string): Promise<{ status: number; body: string; type: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get("content-type") ?? "",
  };
}

/** The value of one sample line of the Prometheus text, e.g. `name{a="b"}`; undefined if absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("ops endpoints on Bolt's HTTP receiver (control-plane Redis state)", () => {
  let topology: TestTopology;
  let m: Record<string, Machine>;
  let keys: number;
  let controlPlane: RedisServer;
  let running: RunningBot;

  beforeAll(async () => {
    // No SSH anywhere: a promote needs only Redis, which keeps this test quick on a busy machine.
    topology = await buildTopology([
      { name: "machine-a", role: "master", noSsh: true },
      { name: "machine-b", role: "replica", noSsh: true },
    ]);
    m = topology.machines as Record<string, Machine>;
    keys = await loadData(m["machine-a"]!.server!, { keys: 500, valueBytes: 16 });
    await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
    await m["machine-a"]!.server!.kill();
    await waitForLinkDown(m["machine-b"]!);
    const ip = allocateAddressBlock().ip(1);
    controlPlane = await startRedis({
      name: "control-plane",
      host: ip,
      port: await freePort(ip),
      dir: join(topology.root, "control-plane"),
    });
    running = await startBot(
      topology.inventoryPath,
      { STATE_REDIS_URL: `redis://${controlPlane.host}:${controlPlane.port}/0` },
      { ops: true },
    );
  });
  afterAll(async () => {
    await running?.close();
    await controlPlane?.stop();
    await topology?.close();
  });

  it("/healthz answers 200; /readyz answers 200 naming every check", async () => {
    const health = await get(`${running.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: "alive" });
    const ready = await get(`${running.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      ready: true,
      checks: { slack: "ok", state: "ok", inventory: "ok" },
    });
    // Slack's own path is still Bolt's.
    expect((await get(running.url)).status).not.toBe(200);
  });

  it("/metrics counts a status, a dry run, an approved run with its steps, and the Slack calls", async () => {
    await running.command("status cache-test");
    await running.command("failover cache-test --mode promote --dry-run");
    await running.command("failover cache-test --bogus");
    await running.bot.idle();
    await running.command("failover cache-test --mode promote");
    const root = await running.double.waitForCall(
      "chat.postMessage",
      (call) => !call.args.thread_ts && /Approve/.test(JSON.stringify(call.args.blocks ?? "")),
      20_000,
    );
    const ts = String((root.response.body as { ts: string }).ts);
    await running.click(ts, ACTIONS.approve, USERS.bob);
    await waitFor(
      async () => /Succeeded|Failed/.test(messageText(running.double.message(CHANNEL, ts)!)),
      { what: "the run", timeoutMs: 60_000 },
    );
    await running.bot.idle();
    await running.bot.outbox.flush();

    const scraped = await get(`${running.baseUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = scraped.body;
    const p = "redis_failover_";
    expect(sample(text, `${p}slash_commands_total{command="status",result="accepted"}`)).toBe(1);
    expect(sample(text, `${p}slash_commands_total{command="failover",result="accepted"}`)).toBe(2);
    expect(sample(text, `${p}slash_commands_total{command="invalid",result="refused"}`)).toBe(1);
    expect(
      sample(text, `${p}runs_total{cluster="cache-test",mode="promote",outcome="dry-run"}`),
    ).toBe(1);
    expect(
      sample(text, `${p}runs_total{cluster="cache-test",mode="promote",outcome="succeeded"}`),
    ).toBe(1);
    expect(sample(text, `${p}run_duration_seconds_count{mode="promote",outcome="succeeded"}`)).toBe(
      1,
    );
    expect(sample(text, `${p}decisions_total{kind="approved"}`)).toBe(1);
    for (const step of ["recheck", "promote"]) {
      expect(
        sample(text, `${p}step_duration_seconds_count{mode="promote",step="${step}",status="ok"}`),
        step,
      ).toBeGreaterThanOrEqual(1);
    }
    const posts = sample(text, `${p}slack_api_calls_total{method="chat.postMessage",result="ok"}`);
    expect(posts).toBe(
      running.double.callsTo("chat.postMessage").filter((call) => call.response.status === 200)
        .length,
    );
    expect(
      sample(text, `${p}slack_api_calls_total{method="chat.update",result="ok"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, `${p}outbox_queue_depth`)).toBe(0);
    expect(sample(text, `${p}lock_held{cluster="cache-test"}`)).toBe(0);
    expect(text).toMatch(/^redis_failover_process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^redis_failover_nodejs_eventloop_lag_seconds \d/m);

    // The run itself: B is the master now, with every key.
    expect((await info(m["machine-b"]!)).role).toBe("master");
    expect(await dbsize(m["machine-b"]!)).toBe(keys);
    expect(m["machine-a"]!.server!.isRunning()).toBe(false);
  });

  it("/readyz answers 503 naming the state backend while the control-plane Redis is stopped", async () => {
    await controlPlane.pause();
    try {
      const stopped = await get(`${running.baseUrl}/readyz`);
      expect(stopped.status).toBe(503);
      const report = JSON.parse(stopped.body);
      expect(report.ready).toBe(false);
      expect(report.checks.slack).toBe("ok");
      expect(report.checks.inventory).toBe("ok");
      expect(report.checks.state).toMatch(/no answer within \d+ ms|did not answer/);
      // /healthz does not depend on the backend.
      expect((await get(`${running.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await controlPlane.resume();
    }
    await expect
      .poll(async () => (await get(`${running.baseUrl}/readyz`)).status, { timeout: 20_000 })
      .toBe(200);
    expect((await info({ ip: controlPlane.host, port: controlPlane.port })).role).toBe("master");
  });

  it("/readyz answers 503 while draining (shutting down)", async () => {
    running.ops!.readiness.drain();
    const draining = await get(`${running.baseUrl}/readyz`);
    expect(draining.status).toBe(503);
    expect(JSON.parse(draining.body)).toMatchObject({ ready: false, draining: true });
  });
});

describe("Socket Mode's own ops server", () => {
  // Socket Mode needs a WebSocket double of Slack's, which the test double does not have; the
  // socket's state is injected here. The server is the one main.ts starts on PORT.
  let server: Server;
  let connected = false;
  beforeAll(async () => {
    const readiness = new Readiness()
      .set(
        "slack",
        slackCheck(() => connected, "socket"),
      )
      .set("state", () => undefined)
      .set(
        "inventory",
        inventoryCheck(() => 1),
      );
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.slashCommand("status", "accepted");
    server = await startOpsServer({
      routes: opsRoutes({ readiness, metrics }),
      port: 0,
      host: "127.0.0.1",
    });
  });
  afterAll(() => server?.close());

  it("serves /healthz, /readyz following the socket's state, /metrics, and 404 elsewhere", async () => {
    const base = `http://127.0.0.1:${portOf(server)}`;
    expect((await get(`${base}/healthz`)).status).toBe(200);
    const down = await get(`${base}/readyz`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body).checks).toEqual({
      slack: "the Socket Mode connection to Slack is not open",
      state: "ok",
      inventory: "ok",
    });
    connected = true;
    expect((await get(`${base}/readyz`)).status).toBe(200);
    const metrics = await get(`${base}/metrics`);
    expect(
      sample(
        metrics.body,
        'redis_failover_slash_commands_total{command="status",result="accepted"}',
      ),
    ).toBe(1);
    expect((await get(`${base}/slack/events`)).status).toBe(404);
  });

  it("refuses a port already in use with an error instead of crashing", async () => {
    await expect(
      startOpsServer({ routes: [], port: portOf(server), host: "127.0.0.1" }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
