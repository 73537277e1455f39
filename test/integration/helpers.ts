import { Redis } from "ioredis";
import type { FailoverEngine } from "../../src/engine/engine.js";
import type { RunEvent } from "../../src/engine/events.js";
import type { FailoverRequest, Plan } from "../../src/plan/types.js";
import { waitFor } from "../harness/redis-server.js";
import type { Machine } from "../harness/topology.js";

export function client(machine: Pick<Machine, "ip" | "port">): Redis {
  const redis = new Redis({
    host: machine.ip,
    port: machine.port,
    protocol: 2,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
  });
  redis.on("error", () => {});
  return redis;
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
