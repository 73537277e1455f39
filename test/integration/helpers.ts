import { PassThrough } from "node:stream";
import { Redis } from "ioredis";
import { runCli } from "../../src/cli/program.js";
import type { FailoverEngine } from "../../src/engine/engine.js";
import type { RunEvent } from "../../src/engine/events.js";
import type { FailoverRequest, Plan } from "../../src/plan/types.js";
import { loadData, waitFor, waitForReplicaSync } from "../harness/redis-server.js";
import {
  buildTopology,
  type Machine,
  type MachineSpec,
  type TestTopology,
} from "../harness/topology.js";

export function client(machine: Pick<Machine, "ip" | "port">, password?: string): Redis {
  const redis = new Redis({
    host: machine.ip,
    port: machine.port,
    ...(password !== undefined ? { password } : {}),
    protocol: 2,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
  });
  redis.on("error", () => {});
  return redis;
}

/**
 * Sequence-numbered writes to whoever answers as master (the first machine until a write fails),
 * recording every acknowledged one.
 */
export function startWriter(machines: Machine[], password?: string) {
  const acknowledged: string[] = [];
  let stop = false;
  const all = machines.map((machine) => client(machine, password));
  let target = all[0] as Redis;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        await target.set(`seq:${i}`, String(i));
        acknowledged.push(`seq:${i}`);
      } catch {
        for (const candidate of all) {
          const role = await candidate.call("ROLE").catch(() => undefined);
          if (Array.isArray(role) && role[0] === "master") target = candidate;
        }
      }
    }
  })();
  return {
    acknowledged,
    async stop() {
      stop = true;
      await done;
      for (const redis of all) redis.disconnect();
    },
  };
}

export async function info(
  machine: Pick<Machine, "ip" | "port">,
  section = "replication",
): Promise<Record<string, string>> {
  const redis = client(machine);
  try {
    const text = await redis.info(section);
    return Object.fromEntries(
      text
        .split(/\r?\n/)
        .filter((line) => line.includes(":") && !line.startsWith("#"))
        .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
    );
  } finally {
    redis.disconnect();
  }
}

export async function dbsize(machine: Pick<Machine, "ip" | "port">): Promise<number> {
  const redis = client(machine);
  try {
    return await redis.dbsize();
  } finally {
    redis.disconnect();
  }
}

export async function waitForLinkDown(replica: Machine): Promise<void> {
  await waitFor(async () => (await info(replica)).master_link_status === "down", {
    what: `${replica.name} to notice its master is gone`,
    timeoutMs: 15_000,
  });
}

export async function planOrThrow(engine: FailoverEngine, request: FailoverRequest): Promise<Plan> {
  const outcome = await engine.plan(request);
  if (!outcome.ok) throw new Error(`refused: ${outcome.refusal.reason}`);
  return outcome.plan;
}

export function recordEvents(): {
  events: RunEvent[];
  onEvent: (event: RunEvent) => void;
  output: (index: number) => string;
} {
  const events: RunEvent[] = [];
  return {
    events,
    onEvent: (event) => events.push(event),
    output: (index) =>
      events
        .filter(
          (event): event is Extract<RunEvent, { type: "step-output" }> =>
            event.type === "step-output" && event.index === index,
        )
        .map((event) => event.text)
        .join("\n"),
  };
}

/**
 * The book's scenario, ready to fail over: A (master) with data, B (its replica) caught up,
 * spare C with Redis stopped; then A is killed and B has noticed. The caller closes it.
 */
export async function lostMasterTopology(
  spare: Partial<MachineSpec> = {},
  data: { keys: number; valueBytes: number; incompressible?: boolean } = {
    keys: 2_000,
    valueBytes: 16,
  },
): Promise<{ topology: TestTopology; m: Record<string, Machine>; keys: number }> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare", ...spare },
  ]);
  try {
    const m = topology.machines as Record<string, Machine>;
    const [a, b] = [m["machine-a"], m["machine-b"]] as [Machine, Machine];
    const server = (machine: Machine) => machine.server as NonNullable<Machine["server"]>;
    const keys = await loadData(server(a), data);
    await waitForReplicaSync(server(a), server(b));
    await server(a).kill();
    await waitForLinkDown(b);
    return { topology, m, keys };
  } catch (error) {
    await topology.close();
    throw error;
  }
}

/**
 * A (master) and B (its replica, caught up), without SSH: enough for a plan, the locks and a
 * switchover. The caller closes it.
 */
export async function replicatedPair(): Promise<{
  topology: TestTopology;
  m: Record<string, Machine>;
}> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master", noSsh: true },
    { name: "machine-b", role: "replica", noSsh: true },
  ]);
  try {
    const m = topology.machines as Record<string, Machine>;
    const server = (machine: Machine | undefined) =>
      machine?.server as NonNullable<Machine["server"]>;
    await waitForReplicaSync(server(m["machine-a"]), server(m["machine-b"]));
    return { topology, m };
  } catch (error) {
    await topology.close();
    throw error;
  }
}

/** The CLI in this process, as an operator runs it (not a terminal): its exit code and output. */
export async function runCliCaptured(
  args: string[],
  options: { env: NodeJS.ProcessEnv; stdin?: string; interactive?: boolean },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => {
    out += chunk;
  });
  stderr.on("data", (chunk) => {
    err += chunk;
  });
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const code = await runCli(args, {
    stdout,
    stderr,
    stdin,
    env: options.env,
    interactive: options.interactive ?? false,
  });
  return { code, stdout: out, stderr: err };
}
