import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isFailoverError } from "../../src/errors.js";
import { openStateBackend, type StateBackendOptions } from "../../src/state/backend.js";
import {
  connectControlPlane,
  JOURNAL_KEY,
  RedisJournal,
  RedisLocks,
} from "../../src/state/redis-state.js";
import type { StateBackend } from "../../src/state/types.js";
import { allocateAddressBlock, freePort } from "../harness/addresses.js";
import { reapAfterAll } from "../harness/processes.js";
import { type RedisServer, startRedis } from "../harness/redis-server.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";
import { stateContract } from "./contract.js";
import { captureLog, eventually, requested, sleep, warnings } from "./helpers.js";

reapAfterAll();

const block = allocateAddressBlock();
let root: TempRoot;
let server: RedisServer;
let secured: RedisServer;
const PASSWORD = "control-plane-pw";

beforeAll(async () => {
  root = await makeTempRoot("redis-state");
  const host = block.ip(1);
  server = await startRedis({
    name: "state",
    host,
    port: await freePort(host),
    dir: join(root.path, "state"),
  });
  const securedHost = block.ip(2);
  secured = await startRedis({
    name: "secured",
    host: securedHost,
    port: await freePort(securedHost),
    dir: join(root.path, "secured"),
    password: PASSWORD,
  });
});
afterAll(async () => {
  await server?.stop();
  await secured?.stop();
  await root?.cleanup();
});

const url = () => `redis://${server.host}:${server.port}`;

function options(overrides: Partial<StateBackendOptions> = {}): StateBackendOptions {
  return {
    stateDir: join(root.path, "unused-state-dir"),
    redisUrl: url(),
    env: {},
    log: captureLog().log,
    managedEndpoints: [],
    ...overrides,
  };
}

stateContract("redis backend", {
  async reset() {
    await server.client().flushall();
  },
  open: () => openStateBackend(options()),
});

describe("redis backend", () => {
  it("describes itself by host:port/db, never with the password", async () => {
    const backend = await openStateBackend(
      options({ redisUrl: `redis://:${PASSWORD}@${secured.host}:${secured.port}/2` }),
    );
    expect(backend.description).toBe(`redis:${secured.host}:${secured.port}/2`);
    await backend.journal.append(requested("r1", 1));
    expect(await secured.client({ db: 2 }).xlen(JOURNAL_KEY)).toBe(1);
    await backend.close();
  });

  it("takes the password from the named environment variable, and refuses when it is unset", async () => {
    const redisUrl = `redis://${secured.host}:${secured.port}`;
    const backend = await openStateBackend(
      options({ redisUrl, redisPasswordEnv: "RFB_STATE_PW", env: { RFB_STATE_PW: PASSWORD } }),
    );
    expect(await backend.decisions.claim("k", "v", 10_000)).toBe(true);
    await backend.close();

    const error = await openStateBackend(
      options({ redisUrl, redisPasswordEnv: "RFB_STATE_PW" }),
    ).catch((caught: unknown) => caught);
    expect(isFailoverError(error, "CONFIG_INVALID")).toBe(true);
    expect(String(error)).toMatch(/\$RFB_STATE_PW, which is not set/);

    const unauthenticated = await openStateBackend(options({ redisUrl })).catch(
      (caught: unknown) => caught,
    );
    expect(isFailoverError(unauthenticated, "REDIS_UNREACHABLE")).toBe(true);
    expect(String(unauthenticated)).toMatch(/NOAUTH|auth/i);
  });

  it("refuses a control-plane URL that is one of the managed endpoints, by name or address", async () => {
    const managed = [{ host: "127.0.0.1", port: 6390, name: "cluster cache-eu host redis-1" }];
    for (const redisUrl of [
      "redis://127.0.0.1:6390",
      "rediss://user:pw@localhost:6390/3", // localhost resolves to 127.0.0.1 (/etc/hosts)
    ]) {
      const error = await openStateBackend(options({ redisUrl, managedEndpoints: managed })).catch(
        (caught: unknown) => caught,
      );
      expect(isFailoverError(error, "CONFIG_INVALID")).toBe(true);
      expect(String(error)).toContain("cluster cache-eu host redis-1 (127.0.0.1:6390)");
      expect(String(error)).not.toContain("pw");
    }
    // Another port on the same host is a different Redis.
    const backend = await openStateBackend(
      options({ managedEndpoints: [{ host: server.host, port: server.port + 1 }] }),
    );
    await backend.close();
    // The running server itself, listed as managed.
    const error = await openStateBackend(
      options({ managedEndpoints: [{ host: server.host, port: server.port }] }),
    ).catch((caught: unknown) => caught);
    expect(isFailoverError(error, "CONFIG_INVALID")).toBe(true);
    expect(String(error)).toContain(`${server.host}:${server.port}`);
  });

  it("refuses URLs that are not redis:// or rediss://, and reports an unreachable control plane", async () => {
    const error = await openStateBackend(options({ redisUrl: "http://127.0.0.1:6379" })).catch(
      (caught: unknown) => caught,
    );
    expect(isFailoverError(error, "CONFIG_INVALID")).toBe(true);

    const port = await freePort(block.ip(3));
    const down = await openStateBackend(
      options({ redisUrl: `redis://${block.ip(3)}:${port}` }),
    ).catch((caught: unknown) => caught);
    expect(isFailoverError(down, "REDIS_UNREACHABLE")).toBe(true);
    expect(String(down)).toContain(`${block.ip(3)}:${port}/0`);
  });

  describe("on one client, as a bot that stays up", () => {
    let backend: StateBackend;
    beforeAll(async () => {
      await server.client().flushall();
      backend = await openStateBackend(options());
    });
    afterAll(async () => {
      await backend.close();
    });

    it("the journal survives the client's connection being killed", async () => {
      const client = await connectControlPlane({ url: url() });
      const journal = new RedisJournal(client, captureLog().log);
      await journal.append(requested("before", 1));
      await server.client().call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      // Sent while the client reconnects: queued, then written once it is back.
      await eventually(() => client.status !== "ready", "the client to notice");
      await journal.append(requested("during", 2));
      expect(client.status).toBe("ready");
      await journal.append(requested("after", 3));
      expect((await journal.read()).map((record) => record.runId)).toEqual([
        "before",
        "during",
        "after",
      ]);
      // The backend opened before the kill also carries on.
      await backend.journal.append(requested("backend", 4));
      expect(await backend.journal.read({ runId: "backend" })).toHaveLength(1);
      client.disconnect();
    });

    it("rides out a restart of the control-plane Redis (with AOF)", async () => {
      const host = block.ip(4);
      const restartable = {
        name: "restartable",
        host,
        port: await freePort(host),
        dir: join(root.path, "restartable"),
        appendonly: true,
      };
      let control = await startRedis(restartable);
      const restarted = await openStateBackend(
        options({ redisUrl: `redis://${host}:${restartable.port}` }),
      );
      try {
        await restarted.journal.append(requested("before", 1));
        await control.stop();
        const during = restarted.journal.append(requested("during", 2));
        control = await startRedis(restartable);
        await during;
        await restarted.journal.append(requested("after", 3));
        expect((await restarted.journal.read()).map((record) => record.runId)).toEqual([
          "before",
          "during",
          "after",
        ]);
      } finally {
        await restarted.close();
        await control.stop();
      }
    });

    it("reads a journal longer than one XRANGE page, and filters since by record time", async () => {
      await server.client().del(JOURNAL_KEY);
      await Promise.all(
        Array.from({ length: 2_500 }, (_, n) => backend.journal.append(requested(`run-${n}`, n))),
      );
      const all = await backend.journal.read();
      expect(all).toHaveLength(2_500);
      expect(new Set(all.map((record) => record.runId)).size).toBe(2_500);
      // Record times (not stream ids) decide: these are all "old" by the stream's clock.
      expect(await backend.journal.read({ since: 2_400 })).toHaveLength(100);
      expect(await backend.journal.read({ runId: "run-1234" })).toHaveLength(1);
    });

    it("skips and reports stream entries that are not records", async () => {
      const { log, lines } = captureLog();
      const client = await connectControlPlane({ url: url() });
      const journal = new RedisJournal(client, log);
      await server.client().del(JOURNAL_KEY);
      await journal.append(requested("r1", 1));
      await server.client().xadd(JOURNAL_KEY, "*", "r", "{not json");
      await server.client().xadd(JOURNAL_KEY, "*", "other", "field");
      await journal.append(requested("r2", 2));
      expect((await journal.read()).map((record) => record.runId)).toEqual(["r1", "r2"]);
      expect(warnings(lines)).toEqual([expect.stringMatching(/skipped 2 unreadable entries/)]);
      client.disconnect();
    });
  });

  describe("locks between two clients (two bots)", () => {
    it("racing for a free lock many times: exactly one wins each time", async () => {
      const log = captureLog().log;
      const clients = await Promise.all([
        connectControlPlane({ url: url() }),
        connectControlPlane({ url: url() }),
      ]);
      const bots = clients.map((client) => new RedisLocks(client, log));
      for (let round = 0; round < 25; round++) {
        const results = await Promise.all(
          bots.map((locks, n) =>
            locks.acquire(`race-${round}`, { runId: `run-${n}`, instance: `bot-${n}` }, 30_000),
          ),
        );
        expect(results.filter((result) => result.ok)).toHaveLength(1);
        for (const result of results) if (result.ok) await result.lease.release();
      }
      for (const client of clients) client.disconnect();
    });

    it("a lease whose key was deleted and taken by someone else reports lost", async () => {
      const log = captureLog().log;
      const clients = await Promise.all([
        connectControlPlane({ url: url() }),
        connectControlPlane({ url: url() }),
      ]);
      const [first, second] = clients.map((client) => new RedisLocks(client, log));
      const held = await first?.acquire("cache-eu", { runId: "a", instance: "bot-1" }, 300);
      if (!held?.ok) throw new Error("expected to acquire");
      await server.client().del("rfb:lock:cache-eu"); // an operator clearing it by hand
      const taken = await second?.acquire("cache-eu", { runId: "b", instance: "bot-2" }, 30_000);
      if (!taken?.ok) throw new Error("expected to acquire");
      await eventually(() => held.lease.lost.aborted, "the first lease to report lost");
      expect(String(held.lease.lost.reason)).toMatch(/someone else holds the lock now/);
      await held.lease.release(); // must not free the other's lock
      expect(await second?.holder("cache-eu")).toMatchObject({ runId: "b" });
      await taken.lease.release();
      for (const client of clients) client.disconnect();
    });

    it("a renewal that fails while the control plane blips is retried; the lease stays", async () => {
      const log = captureLog().log;
      const client = await connectControlPlane({ url: url() });
      const locks = new RedisLocks(client, log);
      // Five blips spread over more than the lease itself: only renewal keeps it.
      const held = await locks.acquire("blip", { runId: "a", instance: "bot-1" }, 2_000);
      if (!held.ok) throw new Error("expected to acquire");
      for (let n = 0; n < 5; n++) {
        await server.client().call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        await sleep(600);
      }
      expect(held.lease.lost.aborted).toBe(false);
      expect(await locks.holder("blip")).toMatchObject({ runId: "a" });
      await held.lease.release();
      client.disconnect();
    });
  });
});
