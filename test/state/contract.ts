import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LockLease, StateBackend } from "../../src/state/types.js";
import { eventually, requested, sleep, stepFinished } from "./helpers.js";

/** One shared state (a dir, a Redis server) that several backend instances ("processes") open. */
export interface StateFixture {
  /** Fresh, empty state for the next test. */
  reset(): Promise<void>;
  /** Another instance on the current state, as a second bot or the CLI would open it. */
  open(): Promise<StateBackend>;
}

const OWNER_A = { runId: "run-a", instance: "bot-1" };
const OWNER_B = { runId: "run-b", instance: "bot-2" };

/**
 * Acquires with background renewal stalled, as in a process that stopped (SIGSTOP, a long GC
 * pause): the renewal timer is created on a fake clock, and only fires when the test says so.
 */
async function acquireStalled(backend: StateBackend, cluster: string, leaseMs: number) {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  const result = await backend.locks.acquire(cluster, OWNER_A, leaseMs);
  if (!result.ok) throw new Error("expected to acquire");
  return result.lease;
}

export function stateContract(name: string, fixture: StateFixture): void {
  describe(`${name}: the state backend contract`, () => {
    const opened: StateBackend[] = [];
    const leases: LockLease[] = [];
    let state: StateBackend;

    const open = async () => {
      const backend = await fixture.open();
      opened.push(backend);
      return backend;
    };
    const keep = (lease: LockLease) => {
      leases.push(lease);
      return lease;
    };

    beforeEach(async () => {
      await fixture.reset();
      state = await open();
    });

    afterEach(async () => {
      vi.useRealTimers();
      for (const lease of leases.splice(0)) await lease.release();
      for (const backend of opened.splice(0)) await backend.close();
    });

    describe("journal", () => {
      it("reads back what was appended, in order", async () => {
        const records = [
          requested("r1", 1_000),
          { type: "posted", runId: "r1", cluster: "cache-eu", at: 1_001, channel: "C1", ts: "1.2" },
          stepFinished("r1", 1_002, 0),
          requested("r2", 1_003),
        ] as const;
        for (const record of records) await state.journal.append(record);
        expect(await state.journal.read()).toEqual(records);
        // Another instance sees the same.
        expect(await (await open()).journal.read()).toEqual(records);
      });

      it("filters by runId and by since (at >= since)", async () => {
        const now = Date.now();
        await state.journal.append(requested("r1", now - 10_000));
        await state.journal.append(requested("r2", now - 5_000));
        await state.journal.append(stepFinished("r1", now, 0));
        await state.journal.append(stepFinished("r2", now + 1, 0));

        const ids = (records: Array<{ runId: string; at: number }>) =>
          records.map((record) => `${record.runId}@${record.at - now}`);
        expect(ids(await state.journal.read({ runId: "r1" }))).toEqual(["r1@-10000", "r1@0"]);
        expect(ids(await state.journal.read({ since: now - 5_000 }))).toEqual([
          "r2@-5000",
          "r1@0",
          "r2@1",
        ]);
        expect(ids(await state.journal.read({ runId: "r2", since: now }))).toEqual(["r2@1"]);
        expect(await state.journal.read({ runId: "nope" })).toEqual([]);
      });

      it("keeps every one of many concurrent appends exactly once", async () => {
        const other = await open();
        const appends = Array.from({ length: 200 }, (_, n) =>
          (n % 2 === 0 ? state : other).journal.append(requested(`run-${n}`, n)),
        );
        await Promise.all(appends);
        const runIds = (await state.journal.read()).map((record) => record.runId);
        expect(runIds).toHaveLength(200);
        expect(new Set(runIds).size).toBe(200);
        // One instance's appends keep their order.
        const mine = runIds.filter((id) => Number(id.slice(4)) % 2 === 0);
        expect(mine).toEqual(Array.from({ length: 100 }, (_, n) => `run-${2 * n}`));
      });
    });

    describe("locks", () => {
      it("a second acquire sees the holder, from any instance", async () => {
        const first = await state.locks.acquire("cache-eu", OWNER_A, 30_000);
        if (!first.ok) throw new Error("expected to acquire");
        keep(first.lease);
        expect(first.lease.cluster).toBe("cache-eu");
        expect(first.lease.lost.aborted).toBe(false);

        for (const backend of [state, await open()]) {
          const second = await backend.locks.acquire("cache-eu", OWNER_B, 30_000);
          expect(second.ok).toBe(false);
          if (second.ok) throw new Error("unreachable");
          expect(second.holder).toMatchObject({
            ...OWNER_A,
            fencingToken: first.lease.fencingToken,
          });
          expect(second.holder.expiresAt).toBeGreaterThan(Date.now());
          expect(await backend.locks.holder("cache-eu")).toMatchObject(OWNER_A);
        }
        // Other clusters are independent.
        const other = await state.locks.acquire("cache-us", OWNER_B, 30_000);
        expect(other.ok).toBe(true);
        if (other.ok) keep(other.lease);
      });

      it("release frees the lock, and the next holder gets a higher fencing token", async () => {
        const first = await state.locks.acquire("cache-eu", OWNER_A, 30_000);
        if (!first.ok) throw new Error("expected to acquire");
        await first.lease.release();
        await first.lease.release(); // idempotent
        expect(await state.locks.holder("cache-eu")).toBeUndefined();

        const other = await open();
        const second = await other.locks.acquire("cache-eu", OWNER_B, 30_000);
        if (!second.ok) throw new Error("expected to acquire after release");
        keep(second.lease);
        expect(second.lease.fencingToken).toBeGreaterThan(first.lease.fencingToken);
        expect(first.lease.lost.aborted).toBe(false);
      });

      it("two instances racing for a free lock: exactly one wins, the other sees it", async () => {
        const instances = [state, await open(), await open()];
        for (let round = 0; round < 10; round++) {
          const cluster = `race-${round}`;
          const results = await Promise.all(
            instances.map((backend, n) =>
              backend.locks.acquire(cluster, { runId: `run-${n}`, instance: `bot-${n}` }, 30_000),
            ),
          );
          const winners = results.filter((result) => result.ok);
          expect(winners).toHaveLength(1);
          const [winner] = winners;
          if (!winner?.ok) throw new Error("unreachable");
          keep(winner.lease);
          for (const result of results) {
            if (!result.ok) expect(result.holder.fencingToken).toBe(winner.lease.fencingToken);
          }
        }
      });

      it("an expired lease is taken by another owner with a higher fencing token; the original then reports lost", async () => {
        const stalled = await acquireStalled(state, "cache-eu", 300);
        await sleep(450);
        expect(await state.locks.holder("cache-eu")).toBeUndefined();

        const other = await open();
        const taken = await other.locks.acquire("cache-eu", OWNER_B, 30_000);
        if (!taken.ok)
          throw new Error(`expected to take over, held by ${JSON.stringify(taken.holder)}`);
        keep(taken.lease);
        expect(taken.lease.fencingToken).toBeGreaterThan(stalled.fencingToken);
        expect(await state.locks.holder("cache-eu")).toMatchObject(OWNER_B);

        // The stalled process wakes up: its next renewal finds the lease gone.
        expect(stalled.lost.aborted).toBe(false);
        vi.advanceTimersByTime(100);
        await eventually(() => stalled.lost.aborted, "the original lease to report lost");
        expect(String(stalled.lost.reason)).toMatch(/lost the lock on cluster cache-eu/);
        // Its release must not free the new holder's lock.
        await stalled.release();
        expect(await state.locks.holder("cache-eu")).toMatchObject(OWNER_B);
        expect(taken.lease.lost.aborted).toBe(false);
      });

      it("renewal keeps a lease alive well past its original expiry", async () => {
        // A lease long enough that a busy CI machine still renews it in time, outlived 2.5 times.
        const result = await state.locks.acquire("cache-eu", OWNER_A, 1_500);
        if (!result.ok) throw new Error("expected to acquire");
        keep(result.lease);
        const other = await open();
        await sleep(3_750);
        expect(result.lease.lost.aborted).toBe(false);
        expect(await other.locks.holder("cache-eu")).toMatchObject(OWNER_A);
        const second = await other.locks.acquire("cache-eu", OWNER_B, 300);
        expect(second.ok).toBe(false);
        await result.lease.release();
        expect(await other.locks.holder("cache-eu")).toBeUndefined();
      });
    });

    describe("decisions", () => {
      it("of many concurrent claims on one key exactly one wins", async () => {
        const instances = [state, await open(), await open()];
        const claims = Array.from({ length: 30 }, (_, n) =>
          instances[n % 3]?.decisions.claim("approve:run-1", `user-${n}`, 60_000),
        );
        const results = await Promise.all(claims);
        expect(results.filter(Boolean)).toHaveLength(1);
        // Backend classes also offer read(key): what the winner recorded.
        const winner = results.indexOf(true);
        const readable = state.decisions as typeof state.decisions & {
          read?(key: string): Promise<string | undefined>;
        };
        expect(await readable.read?.("approve:run-1")).toBe(`user-${winner}`);
        expect(await readable.read?.("approve:none")).toBeUndefined();
        expect(await state.decisions.claim("approve:run-1", "late", 60_000)).toBe(false);
        expect(await state.decisions.claim("approve:run-2", "other key", 60_000)).toBe(true);
      });
    });
  });
}
