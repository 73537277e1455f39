import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FailoverEngine } from "../../src/engine/engine.js";
import type { Plan } from "../../src/plan/types.js";
import type { ApproverCheck } from "../../src/runs/approvers.js";
import { RunLifecycle } from "../../src/runs/lifecycle.js";
import { openStateBackend } from "../../src/state/backend.js";
import { RunCoordinator } from "../../src/state/run-coordinator.js";
import { RunJournal } from "../../src/state/run-journal.js";
import type {
  Decisions,
  JournalRecord,
  JournalStore,
  StateBackend,
} from "../../src/state/types.js";
import type { Machine, TestTopology } from "../harness/topology.js";
import { info, planOrThrow, replicatedPair } from "../integration/helpers.js";
import { captureLog } from "../state/helpers.js";

/**
 * Faults injected around the real file backend: a wrapper that throws where the brief says
 * (a decision claim, a journal write) and otherwise passes through to the real store.
 */
class FailingDecisions implements Decisions {
  failClaimsOf: string | undefined;
  constructor(readonly inner: Decisions) {}
  claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.failClaimsOf && key.startsWith(this.failClaimsOf))
      return Promise.reject(new Error(`injected: claiming ${key} failed`));
    return this.inner.claim(key, value, ttlMs);
  }
  read(key: string): Promise<string | undefined> {
    return this.inner.read(key);
  }
}

class FailingJournal implements JournalStore {
  failType: JournalRecord["type"] | undefined;
  constructor(readonly inner: JournalStore) {}
  append(record: JournalRecord): Promise<void> {
    if (record.type === this.failType)
      return Promise.reject(new Error(`injected: writing ${record.type} failed`));
    return this.inner.append(record);
  }
  read(filter?: { runId?: string; since?: number }): Promise<JournalRecord[]> {
    return this.inner.read(filter);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The inventory's approvers, by user id: the two-person rule without Slack's user groups. */
const approvers: ApproverCheck = {
  async check(list, user, requester) {
    if (user === requester) return { ok: false, reason: "two-person rule" };
    return list.includes(user) ? { ok: true } : { ok: false, reason: "not an approver" };
  },
};

let topology: TestTopology;
let engine: FailoverEngine;
let backend: StateBackend;
let decisions: FailingDecisions;
let store: FailingJournal;
let lifecycle: RunLifecycle;

beforeAll(async () => {
  ({ topology } = await replicatedPair());
  engine = await topology.engine();
  const { log } = captureLog();
  backend = await openStateBackend({
    stateDir: join(topology.root, "state"),
    env: {},
    log,
    managedEndpoints: [],
  });
  decisions = new FailingDecisions(backend.decisions);
  store = new FailingJournal(backend.journal);
  const journal = new RunJournal(store);
  lifecycle = new RunLifecycle({
    engine,
    journal,
    coordinator: new RunCoordinator({ engine, journal, locks: backend.locks, leaseMs: 1_000, log }),
    decisions,
    approvers,
    log,
    approvalTimeoutMs: 600_000,
  });
});
afterAll(async () => {
  await lifecycle?.stop();
  await backend?.close();
  await topology?.close();
});

async function pendingRequest(): Promise<Plan> {
  const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "switchover" });
  await lifecycle.request(plan, { requester: "U0ALICE", channel: "C0INCIDENT", dryRun: false });
  return plan;
}

const holder = () => backend.locks.holder("cache-test");

describe("the cluster lock is released on every path", () => {
  it("when the decision claim throws right after the lock was taken", async () => {
    const plan = await pendingRequest();
    decisions.failClaimsOf = "decision:";
    const reply = await lifecycle.approve(plan.runId, "U0APPROVER");
    decisions.failClaimsOf = undefined;
    expect(reply).toMatchObject({ ok: false, message: expect.stringMatching(/injected/) });
    expect(await holder()).toBeUndefined();
    // Nothing was decided: the request still waits, and a rejection goes through.
    expect((await lifecycle.journal.run(plan.runId))?.state).toBe("awaiting-approval");
    expect(await lifecycle.reject(plan.runId, "U0ALICE")).toEqual({ ok: true });
  });

  it("when the journal cannot record the approval", async () => {
    const plan = await pendingRequest();
    store.failType = "decided";
    const reply = await lifecycle.approve(plan.runId, "U0APPROVER");
    store.failType = undefined;
    expect(reply).toMatchObject({ ok: false, message: expect.stringMatching(/nothing was run/) });
    expect(await holder()).toBeUndefined();
    // The decision was claimed but never recorded: the request waits until it expires.
    expect((await lifecycle.journal.run(plan.runId))?.state).toBe("awaiting-approval");
  });

  it("when the run cannot be started in the journal, and when Resume throws", async () => {
    const plan = await pendingRequest();
    store.failType = "run-started";
    expect(await lifecycle.approve(plan.runId, "U0APPROVER")).toEqual({ ok: true });
    await lifecycle.idle();
    store.failType = undefined;
    expect(await holder()).toBeUndefined();
    // Nothing ran: machine-a is still the master.
    const m = topology.machines as Record<string, Machine>;
    expect((await info(m["machine-a"]!)).role).toBe("master");

    // What Recovery records when it finds the run's executor gone.
    await lifecycle.journal.interrupted(plan, "test");
    decisions.failClaimsOf = "resume:";
    const reply = await lifecycle.resume(plan.runId, "U0APPROVER");
    decisions.failClaimsOf = undefined;
    expect(reply).toMatchObject({ ok: false, message: expect.stringMatching(/injected/) });
    expect(await holder()).toBeUndefined();
    expect((await lifecycle.journal.run(plan.runId))?.state).toBe("interrupted");

    // Dismiss releases it too, and frees the cluster for a new request.
    expect(await lifecycle.dismiss(plan.runId, "U0APPROVER", "test: abandoned")).toEqual({
      ok: true,
    });
    expect(await holder()).toBeUndefined();
    expect((await lifecycle.busyRun("cache-test"))?.runId).not.toBe(plan.runId);
    // Every server's role is as it was: A master, B its replica.
    expect((await info(m["machine-b"]!)).master_host).toBe(m["machine-a"]!.ip);
  });
});
