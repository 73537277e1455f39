import { posix } from "node:path";
import { errorMessage, FailoverError } from "../../errors.js";
import { redisCommands } from "../../plan/commands.js";
import type { HostRef, StepSpec } from "../../plan/types.js";
import { configPairs, intField } from "../../redis/info.js";
import { handOutCli } from "../hand-out-cli.js";
import type { StepContext, StepImplementation } from "../step-context.js";
import { sleep, waitUntil } from "../wait.js";
import { keyspace } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "snapshot" }>;

/**
 * A fresh RDB on the replica. BGSAVE keeps the replica serving; completion is proven by three
 * signals together (no save running, last status ok, LASTSAVE advanced), not by BGSAVE's "OK".
 */
export const snapshot: StepImplementation<Spec> = {
  async run(spec, context) {
    const node = context.redis(spec.host);
    // Independent reads go out together: each sequential round trip is time the master is gone.
    const [lastSaveText, persistence] = await Promise.all([
      context.command(spec.host, redisCommands.lastsave),
      node.info("persistence"),
    ]);
    const lastSaveBefore = Number(lastSaveText);
    const before: SaveMark = { lastSave: lastSaveBefore };
    const saves = intField(persistence, "rdb_saves");
    // Redis 7 counts saves; older servers only have LASTSAVE, whose one-second resolution
    // would hide a save finishing within the same second.
    if (saves !== undefined) before.saves = saves;
    else await waitForNextSecond(spec.host, lastSaveBefore, context);
    let method: "BGSAVE" | "SAVE" = "BGSAVE";
    try {
      await startBackgroundSave(spec.host, before, context);
      await waitForSave(spec.host, before, context);
    } catch (error) {
      if (!spec.fallbackToSave) throw error;
      context.warn(
        `BGSAVE did not complete (${errorMessage(error)}); falling back to a blocking SAVE as configured`,
      );
      method = "SAVE";
      await context.command(spec.host, redisCommands.save);
      await waitForSave(spec.host, before, context);
    }
    const [info, dir, dbfilename, lastSaveAfter] = await Promise.all([
      node.info("keyspace"),
      node.call("CONFIG", "GET", "dir"),
      node.call("CONFIG", "GET", "dbfilename"),
      context.command(spec.host, redisCommands.lastsave),
    ]);
    const { keys, expires } = keyspace(info);
    const path = posix.join(
      configPairs(dir).get("dir") ?? "",
      configPairs(dbfilename).get("dbfilename") ?? "",
    );
    const copyStep = context.plan.steps.find((step) => step.spec.kind === "copy-rdb");
    if (copyStep?.spec.kind === "copy-rdb" && copyStep.spec.sourcePath !== path) {
      throw new FailoverError(
        "VERIFY_FAILED",
        `${spec.host.name} now writes its snapshot to ${path}, but the plan copies ${copyStep.spec.sourcePath}; plan again`,
      );
    }
    const lastSave = Number(lastSaveAfter);
    context.facts.snapshot = {
      host: spec.host.name,
      keys,
      keysWithExpiry: expires,
      lastSave,
      path,
      method,
    };
    context.output(
      `Snapshot ready: ${path}, ${keys} keys (${expires} with a TTL), LASTSAVE ${lastSave}.`,
    );
  },
  advice(spec, context) {
    return [
      `${spec.host.name} is unchanged (still a replica). Check why it cannot save: \`${handOutCli(context, spec.host)} INFO persistence\` and its log (disk space, fork failing for lack of memory, permissions on dir).`,
    ];
  },
};

async function startBackgroundSave(
  host: HostRef,
  before: SaveMark,
  context: StepContext,
): Promise<void> {
  try {
    await context.command(host, redisCommands.bgsave);
  } catch (error) {
    const message = errorMessage(error);
    if (/already in progress/i.test(message)) {
      // Another save started before ours: it predates the request, so wait for it and take our own.
      context.output(
        "A background save was already running; waiting for it, then taking a fresh one.",
      );
      const after = await waitUntil(
        async () => {
          const info = await context.redis(host).info("persistence");
          return info.get("rdb_bgsave_in_progress") === "0"
            ? { done: true, value: info }
            : { done: false, detail: "rdb_bgsave_in_progress:1" };
        },
        {
          timeoutMs: context.timeouts.snapshotMs,
          what: `the earlier save on ${host.name} to finish`,
        },
      );
      // That save is not ours: ours must come after it.
      before.lastSave = intField(after, "rdb_last_save_time") ?? before.lastSave;
      const saves = intField(after, "rdb_saves");
      if (saves !== undefined) before.saves = saves;
      else await waitForNextSecond(host, before.lastSave, context);
      await context.command(host, redisCommands.bgsave);
    } else if (/rewriting in progress|AOF/i.test(message)) {
      await context.command(host, ["BGSAVE", "SCHEDULE"]);
    } else {
      throw error;
    }
  }
}

/** Where the server's save history stood before ours: a newer save must show in it. */
interface SaveMark {
  lastSave: number;
  saves?: number;
}

async function waitForSave(host: HostRef, before: SaveMark, context: StepContext): Promise<void> {
  const node = context.redis(host);
  await waitUntil(
    async () => {
      const info = await node.info("persistence");
      const inProgress = info.get("rdb_bgsave_in_progress") === "1";
      const status = info.get("rdb_last_bgsave_status");
      const lastSave = intField(info, "rdb_last_save_time") ?? 0;
      const saves = intField(info, "rdb_saves");
      const advanced =
        before.saves !== undefined && saves !== undefined
          ? saves > before.saves && lastSave >= before.lastSave
          : lastSave > before.lastSave;
      if (inProgress) {
        return {
          done: false,
          detail: `rdb_bgsave_in_progress:1 for ${info.get("rdb_current_bgsave_time_sec") ?? "?"} s`,
        };
      }
      if (advanced) {
        if (status !== "ok") {
          throw new FailoverError(
            "VERIFY_FAILED",
            `the snapshot on ${host.name} failed: rdb_last_bgsave_status:${status}`,
          );
        }
        return { done: true, value: undefined };
      }
      if (status === "err") {
        throw new FailoverError(
          "VERIFY_FAILED",
          `the snapshot on ${host.name} failed: rdb_last_bgsave_status:err (see its log)`,
        );
      }
      return { done: false, detail: `waiting for LASTSAVE to pass ${before.lastSave}` };
    },
    {
      timeoutMs: context.timeouts.snapshotMs,
      intervalMs: 10,
      maxIntervalMs: 100,
      what: `the snapshot on ${host.name}`,
      onProgress: (detail) => context.output(`  ${detail}`),
    },
  );
  context.output(
    before.saves !== undefined
      ? "  rdb_bgsave_in_progress:0, rdb_last_bgsave_status:ok, rdb_saves advanced, LASTSAVE current"
      : "  rdb_bgsave_in_progress:0, rdb_last_bgsave_status:ok, LASTSAVE advanced",
  );
}

/** LASTSAVE has one-second resolution: a save finishing in the same second would not show. */
async function waitForNextSecond(
  host: HostRef,
  before: number,
  context: StepContext,
): Promise<void> {
  const reply = await context.redis(host).call("TIME");
  const seconds = Array.isArray(reply) ? Number(reply[0]) : 0;
  const micros = Array.isArray(reply) ? Number(reply[1]) : 0;
  if (seconds <= before) await sleep(Math.ceil((1_000_000 - micros) / 1000) + 5);
}
