import { errorMessage, FailoverError, isFailoverError } from "../../errors.js";
import { redisCommands, sentinelCommands, sentinelName } from "../../plan/commands.js";
import { cliProgramFor, redisCli } from "../../plan/redis-cli.js";
import type { HostRef, SentinelRef, StepSpec } from "../../plan/types.js";
import { intField } from "../../redis/info.js";
import type { RedisNode } from "../../redis/node.js";
import {
  type SentinelSettings,
  sentinelMaster,
  sentinelMasterAddress,
  sentinelPick,
  sentinelReplicas,
} from "../../redis/sentinel.js";
import type { StepContext, StepImplementation } from "../step-context.js";
import { waitUntil } from "../wait.js";
import { followsMaster, replicaOffset } from "./redis-state.js";

type Failover = Extract<StepSpec, { kind: "sentinel-failover" }>;
type Remove = Extract<StepSpec, { kind: "sentinel-remove" }>;
type Monitor = Extract<StepSpec, { kind: "sentinel-monitor" }>;
type Address = { host: string; port: number };

const same = (a: Address | undefined, b: Address) => a?.host === b.host && a.port === b.port;

/** Each Sentinel's GET-MASTER-ADDR-BY-NAME, or why it gave none. */
async function addresses(
  sentinels: readonly SentinelRef[],
  masterName: string,
  context: StepContext,
): Promise<Array<{ sentinel: SentinelRef; address?: Address; error?: string }>> {
  return Promise.all(
    sentinels.map(async (sentinel) => {
      try {
        const address = await sentinelMasterAddress(context.sentinel(sentinel), masterName);
        return address ? { sentinel, address } : { sentinel, error: "no such master" };
      } catch (error) {
        return { sentinel, error: errorMessage(error) };
      }
    }),
  );
}

function describeAnswers(answers: Awaited<ReturnType<typeof addresses>>): string {
  return answers
    .map(
      (answer) =>
        `${sentinelName(answer.sentinel)}: ${answer.address ? `${answer.address.host}:${answer.address.port}` : answer.error}`,
    )
    .join("; ");
}

/**
 * Waits until `needed` Sentinels name `announced` and `master` answers ROLE master: Sentinel
 * and the servers agree. Fails at once if the servers show another master was chosen.
 */
async function waitForAgreement(
  options: {
    sentinels: readonly SentinelRef[];
    masterName: string;
    needed: number;
    announced: Address;
    master: HostRef;
    timeoutMs: number;
  },
  context: StepContext,
): Promise<void> {
  await waitUntil(
    async () => {
      const [answers, role] = await Promise.all([
        addresses(options.sentinels, options.masterName, context),
        context
          .redis(options.master)
          .call("ROLE")
          .then(
            (reply) => (Array.isArray(reply) ? String(reply[0]) : "?"),
            (error: unknown) => `not answering (${errorMessage(error)})`,
          ),
      ]);
      const agreeing = answers.filter((answer) => same(answer.address, options.announced)).length;
      if (agreeing >= options.needed && role === "master") {
        context.output(
          `Agreed: ${agreeing} of ${options.sentinels.length} Sentinels name ${options.master.name} (${describeAnswers(answers)}); ${options.master.name} ROLE: master`,
        );
        return { done: true, value: undefined };
      }
      return {
        done: false,
        detail: `${agreeing} of ${options.needed} Sentinels needed name ${options.master.name} (${describeAnswers(answers)}); ${options.master.name} ROLE: ${role}`,
      };
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 100,
      maxIntervalMs: 500,
      what: `${options.needed} Sentinel(s) and ${options.master.name} to agree that ${options.master.name} is the master`,
      onProgress: (detail) => context.output(`  waiting: ${detail}`),
    },
  );
}

/**
 * promote and switchover through Sentinel, so that it does not fight the change: Sentinel's
 * own pick must be the planned target (checked before asking), the failover is asked of one
 * Sentinel, and the step ends when a majority of the declared Sentinels and the servers agree.
 * A switchover pauses writes on the old master first, so nothing it acknowledged is lost.
 */
export const sentinelFailover: StepImplementation<Failover> = {
  async run(spec, context) {
    const answers = await addresses(spec.sentinels, spec.masterName, context);
    context.output(`Sentinels now: ${describeAnswers(answers)}`);
    const agreeingOld = answers.filter((answer) => same(answer.address, spec.oldAnnounced));
    const asking = agreeingOld[0];
    if (!asking || agreeingOld.length < spec.quorum) {
      throw new FailoverError(
        "VERIFY_FAILED",
        `no ${spec.quorum} of the ${spec.sentinels.length} declared Sentinels name ${spec.oldMaster.name} (${spec.oldAnnounced.host}:${spec.oldAnnounced.port}) as ${spec.masterName}'s master (${describeAnswers(answers)}); nothing was changed`,
      );
    }
    const node = context.sentinel(asking.sentinel);
    const pick = sentinelPick(await sentinelReplicas(node, spec.masterName));
    if (!pick || !same({ host: pick.ip, port: pick.port }, spec.targetAnnounced)) {
      throw new FailoverError(
        "VERIFY_FAILED",
        `Sentinel would promote ${pick ? `${pick.ip}:${pick.port} (priority ${pick.priority}, offset ${pick.offset})` : "no replica"}, not ${spec.target.name}; nothing was changed`,
      );
    }
    context.output(
      `${sentinelName(asking.sentinel)} would promote ${spec.target.name} (priority ${pick.priority}, offset ${pick.offset})`,
    );
    if (!spec.pauseMs) {
      await context.commandOn(node, sentinelCommands.failover(spec.masterName));
      await waitForAgreement(
        { ...spec, needed: spec.quorum, announced: spec.targetAnnounced, master: spec.target },
        context,
      );
      return;
    }
    const oldMaster = context.redis(spec.oldMaster);
    await context.command(spec.oldMaster, ["CLIENT", "PAUSE", spec.pauseMs, "WRITE"]);
    try {
      const frozen =
        intField(await oldMaster.info("replication"), "master_repl_offset") ?? Number.NaN;
      context.output(`${spec.oldMaster.name}'s writes are paused at offset ${frozen}`);
      await waitUntil(
        async () => {
          const offset = replicaOffset(await context.redis(spec.target).info("replication"));
          return offset >= frozen
            ? { done: true, value: undefined }
            : { done: false, detail: `${spec.target.name} at offset ${offset} of ${frozen}` };
        },
        { timeoutMs: spec.timeoutMs, what: `${spec.target.name} to catch up with ${frozen}` },
      );
      await context.commandOn(node, sentinelCommands.failover(spec.masterName));
      await waitForAgreement(
        { ...spec, needed: spec.quorum, announced: spec.targetAnnounced, master: spec.target },
        context,
      );
    } finally {
      await settleOldMaster(spec, context, oldMaster);
    }
  },
  async alreadyDone(spec, context) {
    const answers = await addresses(spec.sentinels, spec.masterName, context);
    const agreeing = answers.filter((answer) => same(answer.address, spec.targetAnnounced));
    const role = await context
      .redis(spec.target)
      .call("ROLE")
      .catch(() => undefined);
    return agreeing.length >= spec.quorum && Array.isArray(role) && role[0] === "master"
      ? `${agreeing.length} Sentinels name ${spec.target.name}, which answers as master`
      : undefined;
  },
  advice(spec, context) {
    const first = spec.sentinels[0];
    return [
      `Check what the Sentinels say: ${spec.sentinels
        .map(
          (sentinel) =>
            `${sentinelCli(context, sentinel)} SENTINEL GET-MASTER-ADDR-BY-NAME ${spec.masterName}`,
        )
        .join(
          " ; ",
        )}. If they name ${spec.target.name} and it answers ROLE master, the failover happened late: wait, then plan again. If they still name ${spec.oldMaster.name}, nothing changed; ${first ? `retry by hand with ${sentinelCli(context, first)} SENTINEL FAILOVER ${spec.masterName}, or ` : ""}plan again.`,
    ];
  },
};

/**
 * After a paused switchover: once the target is master, the old master (still paused, so it
 * holds nothing the target lacks) follows it before writes resume; if the failover did not
 * happen, it simply resumes as master. Either way writes never stay paused.
 */
async function settleOldMaster(spec: Failover, context: StepContext, oldMaster: RedisNode) {
  try {
    const targetRole = await context
      .redis(spec.target)
      .call("ROLE")
      .catch(() => undefined);
    if (Array.isArray(targetRole) && targetRole[0] === "master") {
      const info = await oldMaster.info("replication");
      if (!followsMaster(info, spec.target))
        await onceMore(() =>
          context.command(
            spec.oldMaster,
            redisCommands.replicaOf(spec.target.host, spec.target.port),
          ),
        );
    } else {
      context.warn(
        `${spec.target.name} did not become master: ${spec.oldMaster.name} stays master and takes writes again`,
      );
    }
  } finally {
    await onceMore(() => context.command(spec.oldMaster, ["CLIENT", "UNPAUSE"]));
  }
}

/**
 * Sentinel ends normal clients' connections (CLIENT KILL TYPE normal) on the servers it
 * reconfigures, ours included: a command that lost its connection is sent once more, on a new one.
 */
async function onceMore<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!isFailoverError(error, "REDIS_UNREACHABLE")) throw error;
    return send();
  }
}

/** replace: no Sentinel may act on the master while the bot rebuilds it elsewhere. */
export const sentinelRemove: StepImplementation<Remove> = {
  async run(spec, context) {
    for (const sentinel of spec.sentinels) {
      const node = context.sentinel(sentinel);
      const master = await sentinelMaster(node, spec.masterName);
      if (!master) {
        context.output(
          `${sentinelName(sentinel)} does not monitor ${spec.masterName} (already removed)`,
        );
        continue;
      }
      context.output(
        `${sentinelName(sentinel)} watches ${master.ip}:${master.port} with quorum ${master.settings.quorum}, down-after ${master.settings.downAfterMs} ms, failover-timeout ${master.settings.failoverTimeoutMs} ms, parallel-syncs ${master.settings.parallelSyncs}`,
      );
      await context.commandOn(node, sentinelCommands.remove(spec.masterName));
    }
  },
  async alreadyDone(spec, context) {
    for (const sentinel of spec.sentinels)
      if (await sentinelMaster(context.sentinel(sentinel), spec.masterName)) return undefined;
    return `no declared Sentinel monitors ${spec.masterName}`;
  },
  advice(spec, context) {
    return [
      `Some Sentinels may have stopped watching ${spec.masterName}. To put them back on the old master as before: ${restoreCommands(context, spec.masterName, spec.sentinels, spec.oldMaster).join(" ; ")}`,
    ];
  },
};

/** replace, at the end: every Sentinel watches the new master with the settings it had. */
export const sentinelMonitor: StepImplementation<Monitor> = {
  async run(spec, context) {
    const credentials = context.connections.serverCredentials();
    for (const sentinel of spec.sentinels) {
      const node = context.sentinel(sentinel);
      const master = await sentinelMaster(node, spec.masterName);
      if (master && !same({ host: master.ip, port: master.port }, spec.newMaster)) {
        throw new FailoverError(
          "VERIFY_FAILED",
          `${sentinelName(sentinel)} already monitors ${spec.masterName} at ${master.ip}:${master.port}, not ${spec.newMaster.name}: someone added it back during the run`,
        );
      }
      if (!master) {
        await context.commandOn(
          node,
          sentinelCommands.monitor(
            spec.masterName,
            spec.newMaster.host,
            spec.newMaster.port,
            sentinel.settings.quorum,
          ),
        );
      }
      await context.commandOn(node, sentinelCommands.set(spec.masterName, sentinel.settings));
      if (credentials.password) {
        // Shown with the variable's name: the value is a secret.
        context.output(
          `[${sentinelName(sentinel)}] redis> SENTINEL SET ${spec.masterName} auth-pass <$${spec.authPassEnv ?? "password"}>`,
        );
        await node.call("SENTINEL", "SET", spec.masterName, "auth-pass", credentials.password);
        if (credentials.username) {
          context.output(
            `[${sentinelName(sentinel)}] redis> SENTINEL SET ${spec.masterName} auth-user <$${spec.authUserEnv ?? "username"}>`,
          );
          await node.call("SENTINEL", "SET", spec.masterName, "auth-user", credentials.username);
        }
      }
    }
    await waitForAgreement(
      {
        sentinels: spec.sentinels,
        masterName: spec.masterName,
        needed: spec.sentinels.length,
        announced: spec.newMaster,
        master: spec.newMaster,
        timeoutMs: spec.timeoutMs,
      },
      context,
    );
    for (const sentinel of spec.sentinels) {
      const master = await sentinelMaster(context.sentinel(sentinel), spec.masterName);
      const settings = master?.settings;
      const want = sentinel.settings;
      if (!settings || !sameSettings(settings, want)) {
        throw new FailoverError(
          "VERIFY_FAILED",
          `${sentinelName(sentinel)} does not show the settings it was given (${JSON.stringify(settings)} instead of ${JSON.stringify(want)})`,
        );
      }
    }
    await waitUntilSentinelsReach(spec, context);
  },
  async alreadyDone(spec, context) {
    // A run stopped between MONITOR and SET leaves the default settings: not done.
    for (const sentinel of spec.sentinels) {
      const master = await sentinelMaster(context.sentinel(sentinel), spec.masterName);
      if (!master || !same({ host: master.ip, port: master.port }, spec.newMaster))
        return undefined;
      if (!sameSettings(master.settings, sentinel.settings)) return undefined;
    }
    return `every declared Sentinel already watches ${spec.newMaster.name} with its settings`;
  },
  advice(spec, context) {
    return [
      `Put every Sentinel on the new master by hand: ${restoreCommands(context, spec.masterName, spec.sentinels, spec.newMaster).join(" ; ")}`,
    ];
  },
};

/**
 * Naming the new master is not reaching it: a Sentinel without the servers' password
 * (auth-pass) names it, but INFO, PING and REPLICAOF fail with NOAUTH, so it would see no
 * replicas and could never fail it over. An INFO reply (info-refresh above 0) proves it logs in.
 */
async function waitUntilSentinelsReach(spec: Monitor, context: StepContext): Promise<void> {
  await waitUntil(
    async () => {
      const states = await Promise.all(
        spec.sentinels.map(async (sentinel) => ({
          sentinel,
          master: await sentinelMaster(context.sentinel(sentinel), spec.masterName),
        })),
      );
      const blind = states.filter(
        ({ master }) =>
          !master ||
          !(master.infoRefreshMs > 0) ||
          master.flags.some((flag) => ["s_down", "o_down", "disconnected"].includes(flag)),
      );
      if (blind.length === 0) {
        context.output(
          `Every Sentinel reads ${spec.newMaster.name}'s INFO (${states.map(({ sentinel, master }) => `${sentinelName(sentinel)}: ${master?.replicas} replica(s) seen`).join(", ")})`,
        );
        return { done: true, value: undefined };
      }
      return {
        done: false,
        detail: blind
          .map(
            ({ sentinel, master }) =>
              `${sentinelName(sentinel)} ${master ? `has no INFO reply from ${spec.newMaster.name} yet (flags ${master.flags.join(",")})` : `does not monitor ${spec.masterName}`}`,
          )
          .join("; "),
      };
    },
    {
      timeoutMs: spec.timeoutMs,
      intervalMs: 100,
      maxIntervalMs: 500,
      what: `every Sentinel to read ${spec.newMaster.name}'s INFO (a Sentinel needs the servers' password as auth-pass: the cluster's redisPasswordEnv)`,
      onProgress: (detail) => context.output(`  waiting: ${detail}`),
    },
  );
}

function sameSettings(a: SentinelSettings, b: SentinelSettings): boolean {
  return (
    a.quorum === b.quorum &&
    a.downAfterMs === b.downAfterMs &&
    a.failoverTimeoutMs === b.failoverTimeoutMs &&
    a.parallelSyncs === b.parallelSyncs
  );
}

/** The commands that make each Sentinel watch `master` with its recorded settings. */
export function restoreCommands(
  context: Pick<StepContext, "cluster" | "plan">,
  masterName: string,
  sentinels: Remove["sentinels"],
  master: HostRef,
): string[] {
  const authPass = context.cluster.redisPasswordEnv;
  const authUser = authPass ? context.cluster.redisUsernameEnv : undefined;
  return sentinels.flatMap((sentinel) => {
    const cli = sentinelCli(context, sentinel);
    const { quorum, downAfterMs, failoverTimeoutMs, parallelSyncs } = sentinel.settings;
    return [
      `${cli} SENTINEL MONITOR ${masterName} ${master.host} ${master.port} ${quorum}`,
      `${cli} SENTINEL SET ${masterName} down-after-milliseconds ${downAfterMs} failover-timeout ${failoverTimeoutMs} parallel-syncs ${parallelSyncs}${authPass ? ` auth-pass "$${authPass}"` : ""}${authUser ? ` auth-user "$${authUser}"` : ""}`,
    ];
  });
}

/** Sentinels come in the servers' flavour's packages: valkey-cli for a Valkey cluster's. */
function sentinelCli(
  context: Pick<StepContext, "cluster" | "plan">,
  sentinel: SentinelRef,
): string {
  const declared = context.cluster.sentinel;
  return redisCli(
    {
      ...(declared?.tls ? { tls: declared.tls } : {}),
      ...(declared?.usernameEnv ? { redisUsernameEnv: declared.usernameEnv } : {}),
      ...(declared?.passwordEnv ? { redisPasswordEnv: declared.passwordEnv } : {}),
    },
    sentinel,
    cliProgramFor(context.plan?.topology),
  );
}
