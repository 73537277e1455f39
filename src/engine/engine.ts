import type { Logger } from "pino";
import { type ClusterConfig, findCluster, findHost, type Inventory } from "../config/inventory.js";
import { errorMessage } from "../errors.js";
import { type FenceHint, planFence } from "../plan/plan-fence.js";
import { planFailover } from "../plan/planner.js";
import type { FailoverRequest, HostRef, Plan, PlanOutcome } from "../plan/types.js";
import type { Secrets } from "../secrets.js";
import { type Assessment, assessTopology } from "../topology/assess.js";
import { discoverTopology } from "../topology/discover.js";
import { probeHost } from "../topology/probe-host.js";
import type { HostFacts, Topology } from "../topology/types.js";
import { type ConnectionFactory, Connections } from "./connections.js";
import type { RunEventListener, RunFacts, RunResult } from "./events.js";
import { type Checkpoint, executePlan } from "./executor.js";
import { newRunId } from "./run-id.js";
import { type OldMasterProbe, probeOldMaster } from "./watch-probe.js";

/** How long unused connections to a cluster stay open. */
const CONNECTION_IDLE_MS = 30_000;

/** How long a status reading is shared by later status calls. */
const STATUS_REUSE_MS = 1_000;

export interface EngineOptions {
  inventory: Inventory;
  factory: ConnectionFactory;
  log: Logger;
  secrets: Secrets;
  now?: () => number;
  runId?: () => string;
}

export interface RunOptions {
  signal?: AbortSignal;
  onEvent?: RunEventListener;
  /** Awaited before and after each step (the journal); a failure stops the run before acting. */
  checkpoint?: Checkpoint;
  /** Resume: what an earlier attempt learned and where it stopped. */
  facts?: RunFacts;
  fromStep?: number;
}

/**
 * The failover engine as front ends (CLI, Slack, demo) see it: status, plan, execute.
 * It knows nothing of its front ends; each call opens its own connections and closes them.
 */
export class FailoverEngine {
  readonly inventory: Inventory;
  readonly #options: EngineOptions;
  readonly #now: () => number;
  readonly #pool = new Map<
    string,
    { connections: Connections; users: number; idle: NodeJS.Timeout | undefined }
  >();
  readonly #statusCache = new Map<
    string,
    { at: number; result: Promise<{ topology: Topology; assessment: Assessment }> }
  >();

  constructor(options: EngineOptions) {
    this.inventory = options.inventory;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  cluster(name: string): ClusterConfig {
    return findCluster(this.inventory, name);
  }

  /**
   * Every server's view. Calls for one cluster within STATUS_REUSE_MS share a single round of
   * probes (a burst of /redis status costs one discovery); plans and runs always probe afresh.
   */
  status(clusterName: string): Promise<{ topology: Topology; assessment: Assessment }> {
    const cluster = this.cluster(clusterName);
    const recent = this.#statusCache.get(cluster.name);
    if (recent && this.#now() - recent.at < STATUS_REUSE_MS) return recent.result;
    const result = this.#withConnections(cluster, async (connections) => {
      const topology = await discoverTopology(cluster, connections, this.#now);
      return { topology, assessment: assessTopology(topology) };
    });
    this.#statusCache.set(cluster.name, { at: this.#now(), result });
    result.catch(() => this.#statusCache.delete(cluster.name));
    return result;
  }

  /** Preflight: reads every server and, where needed, the machines themselves; then plans. Changes nothing. */
  async plan(request: FailoverRequest): Promise<PlanOutcome & { topology: Topology }> {
    const cluster = this.cluster(request.cluster);
    for (const name of [request.spare, request.replica])
      if (name !== undefined) findHost(cluster, name);
    const log = this.#options.log.child({ cluster: cluster.name });
    return this.#withConnections(cluster, async (connections) => {
      const topology = await discoverTopology(cluster, connections, this.#now);
      const hostFacts = await this.#inspectHosts(cluster, topology, request, connections);
      const runId = (this.#options.runId ?? newRunId)();
      const outcome = planFailover({
        cluster,
        topology,
        hostFacts,
        request,
        runId,
        now: this.#now(),
      });
      if (outcome.ok) {
        log.info(
          {
            runId,
            mode: outcome.plan.mode,
            reason: outcome.plan.modeReason,
            steps: outcome.plan.steps.length,
          },
          "plan ready",
        );
      } else {
        log.warn({ request, refusal: outcome.refusal }, "request refused at preflight");
      }
      return { ...outcome, topology };
    });
  }

  /** Plans fencing of stale masters (an old master back after a failover). Changes nothing. */
  async planFence(
    clusterName: string,
    host?: string,
    hint: FenceHint = {},
  ): Promise<PlanOutcome & { topology: Topology }> {
    const cluster = this.cluster(clusterName);
    if (host !== undefined) findHost(cluster, host);
    return this.#withConnections(cluster, async (connections) => {
      const [topology, discovery] = await Promise.all([
        discoverTopology(cluster, connections, this.#now),
        readDiscoveryKey(cluster, connections),
      ]);
      const runId = (this.#options.runId ?? newRunId)();
      const outcome = planFence({
        cluster,
        topology,
        runId,
        now: this.#now(),
        hint,
        ...(discovery ? { discovery } : {}),
        ...(host ? { host } : {}),
      });
      return { ...outcome, topology };
    });
  }

  /** A watch's look at an old master a run could not fence (see watch-probe.ts). Changes nothing. */
  probeOldMaster(clusterName: string, host: string, newMaster: HostRef): Promise<OldMasterProbe> {
    const cluster = this.cluster(clusterName);
    findHost(cluster, host);
    return this.#withConnections(cluster, (connections) =>
      probeOldMaster(connections.redis(host), connections.redis(newMaster.name), newMaster),
    );
  }

  async execute(plan: Plan, options: RunOptions = {}): Promise<RunResult> {
    const cluster = this.cluster(plan.cluster);
    // A run changes roles: a status reading taken before it must not be shared after it.
    this.#statusCache.delete(cluster.name);
    try {
      return await this.#withConnections(cluster, (connections) =>
        executePlan(plan, {
          cluster,
          connections,
          log: this.#options.log,
          secrets: this.#options.secrets,
          now: this.#now,
          ...options,
        }),
      );
    } finally {
      this.#statusCache.delete(cluster.name);
    }
  }

  /**
   * Machines worth a look over SSH: every host except a master that answers (spares and
   * snapshot sources live there). All at once, so preflight costs one round of handshakes.
   */
  async #inspectHosts(
    cluster: ClusterConfig,
    topology: Topology,
    request: FailoverRequest,
    connections: Connections,
  ): Promise<Map<string, HostFacts>> {
    // Only a confirmed-down master calls for a replace (a spare, a snapshot source); the lost
    // master is neither, and when it is partitioned an SSH handshake with it would only cost
    // the SSH connect timeout.
    const master = assessTopology(topology).master;
    const replaceLikely =
      master?.state === "down" && (request.mode === undefined || request.mode === "replace");
    const wanted = cluster.hosts.filter((host) => {
      if (host.transport.kind === "none") return false;
      if (host.name === request.spare) return true;
      if (host.name === master?.name || !replaceLikely) return false;
      const node = topology.nodes.find((candidate) => candidate.name === host.name);
      return !(node?.reachable && node.role === "master");
    });
    const facts = await Promise.all(
      wanted.map((host) =>
        probeHost(host, connections.remote(host.name), directCopyFiles(cluster)),
      ),
    );
    return new Map(facts.map((fact) => [fact.name, fact]));
  }

  /** Closes every pooled connection (shutdown). */
  async close(): Promise<void> {
    const pooled = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.all(
      pooled.map(async (entry) => {
        clearTimeout(entry.idle);
        await entry.connections.closeAll();
      }),
    );
  }

  /**
   * Connections are kept per cluster while in use and for a short while after, so a plan and
   * the run that follows it (and a burst of status calls) share SSH sessions and Redis clients
   * instead of paying for new handshakes. Broken clients reconnect on their next use.
   */
  async #withConnections<T>(
    cluster: ClusterConfig,
    work: (connections: Connections) => Promise<T>,
  ): Promise<T> {
    let entry = this.#pool.get(cluster.name);
    if (!entry) {
      entry = {
        connections: new Connections(cluster, this.#options.factory),
        users: 0,
        idle: undefined,
      };
      this.#pool.set(cluster.name, entry);
    }
    const pooled = entry;
    clearTimeout(pooled.idle);
    pooled.users += 1;
    try {
      return await work(pooled.connections);
    } finally {
      pooled.users -= 1;
      if (pooled.users === 0) {
        pooled.idle = setTimeout(() => {
          if (pooled.users > 0 || this.#pool.get(cluster.name) !== pooled) return;
          this.#pool.delete(cluster.name);
          void pooled.connections.closeAll();
        }, CONNECTION_IDLE_MS);
        pooled.idle.unref();
      }
    }
  }
}

/** copy: direct reads these on the snapshot source: preflight checks they are readable there. */
function directCopyFiles(cluster: ClusterConfig): string[] {
  const copy = cluster.copy;
  return copy?.mode === "direct" ? [copy.identityFile, copy.knownHostsFile] : [];
}

/** The address the discovery key gives clients now, or why it could not be read. */
async function readDiscoveryKey(
  cluster: ClusterConfig,
  connections: Connections,
): Promise<{ value?: { host: string; port: number }; error?: string } | undefined> {
  if (!cluster.discovery) return undefined;
  try {
    const raw = await connections.discovery().call("GET", cluster.discovery.key);
    if (raw === null || raw === undefined) return { error: "the key is not set" };
    const value = JSON.parse(String(raw)) as { host?: unknown; port?: unknown };
    if (typeof value.host !== "string" || typeof value.port !== "number")
      return { error: `unexpected value ${String(raw).slice(0, 100)}` };
    return { value: { host: value.host, port: value.port } };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}
