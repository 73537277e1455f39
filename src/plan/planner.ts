import { posix } from "node:path";
import type { ClusterConfig, HostConfig } from "../config/inventory.js";
import { versionAtLeast } from "../redis/info.js";
import {
  type Assessment,
  assessTopology,
  type MasterView,
  sentinelWatched,
} from "../topology/assess.js";
import type { CheckRdbTool, HostFacts, NodeState, Topology } from "../topology/types.js";
import { lastHeardSecondsAgo, rankCandidates } from "./candidates.js";
import { chooseCheckRdb } from "./check-rdb.js";
import { describeStep } from "./describe-step.js";
import { sentinelFailoverStep, sentinelHandBack, sentinelMismatch } from "./plan-sentinel.js";
import { cliProgramFor, redisCli } from "./redis-cli.js";
import type {
  Candidate,
  FailoverRequest,
  HostRef,
  Mode,
  Plan,
  PlannedStep,
  PlanOutcome,
  Refusal,
  StepSpec,
} from "./types.js";

export interface PlanInput {
  cluster: ClusterConfig;
  topology: Topology;
  /** Remote-side facts for the hosts preflight could inspect (spares, snapshot sources). */
  hostFacts: ReadonlyMap<string, HostFacts>;
  request: FailoverRequest;
  runId: string;
  now: number;
}

/** Chooses a mode when none is given, checks the request fits the topology, and lists every step. Pure. */
export function planFailover(input: PlanInput): PlanOutcome {
  const { cluster, request } = input;
  for (const name of [request.spare, request.replica]) {
    if (name !== undefined && !cluster.hosts.some((host) => host.name === name)) {
      return refuse(
        `cluster ${cluster.name} has no host "${name}"; its hosts are: ${hostNames(cluster)}`,
      );
    }
  }
  if (request.spare !== undefined && request.spare === request.replica) {
    return refuse("--spare and --replica must name different hosts");
  }
  const spareNode = input.topology.nodes.find((node) => node.name === request.spare);
  if (spareNode?.reachable && (spareNode.keys ?? 0) > 0) {
    return refuse(
      `the spare ${spareNode.name} already runs Redis with ${spareNode.keys} keys (${spareNode.role ?? "unknown role"}); using it would discard them`,
      {
        advice:
          "Check what that data is. If it is disposable, stop Redis there (replace) or FLUSHALL it (promote --spare), then plan again.",
      },
    );
  }
  const assessment = assessTopology(input.topology);
  if (assessment.problems.length > 0) {
    return refuse(
      `the topology is not safe to act on automatically: ${assessment.problems.join("; ")}`,
      {
        advice: "Resolve these by hand (see `status`), then plan again.",
      },
    );
  }
  const watched = sentinelWatched(input.topology);
  if (!cluster.sentinel && watched.length > 0) {
    return refuse(
      `Sentinel manages this cluster (${watched.map((node) => `${node.name}: ${node.sentinelSubscribers} subscriber(s) of __sentinel__:hello`).join(", ")}); a failover behind its back would be fought: Sentinel would fail over again, or turn the new master back into a replica, by its own view`,
      {
        advice: `Declare the cluster's Sentinels in the inventory (sentinel: { hosts: [...], masterName }) so the bot fails over through them. Or let Sentinel do it: SENTINEL FAILOVER <master-name> on one of its Sentinels (${cliProgramFor(input.topology)} -h SENTINEL-HOST -p 26379 SENTINEL FAILOVER <master-name>). Or take the master out of its hands first (SENTINEL REMOVE <master-name> on every Sentinel), plan again, and afterwards SENTINEL MONITOR the new master with the same settings.`,
      },
    );
  }
  if (cluster.sentinel) {
    const undeclared = sentinelMismatch(cluster.sentinel.hosts.length, watched);
    if (undeclared) return { ok: false, refusal: undeclared };
  }
  const master = assessment.master;
  if (!master?.name) return refuse("cannot tell which server is the master");
  const context = new PlanContext(input, assessment, { ...master, name: master.name });

  if (request.mode && request.mode !== "switchover" && master.state === "up") {
    return refuse(
      `${master.name} still answers as master; ${request.mode} is for a master that is lost`,
      {
        recommendedMode: "switchover",
        advice:
          "Use --mode switchover: it hands over the master role without losing acknowledged writes.",
      },
    );
  }
  if (master.state === "unconfirmed") {
    return refuse(
      `the bot cannot reach ${master.name} but it is not confirmed down: ${assessment.evidence.join("; ")}`,
      {
        advice:
          "This looks like a network partition between the bot and the master, or a master that only just failed. Check connectivity and plan again: a replica counts as a second witness once it has heard nothing from the master for two repl-ping-replica-period (20 s by default), or its link is down (repl-timeout).",
      },
    );
  }
  if (request.mode === "switchover" && master.state === "down") {
    return refuse(
      `${master.name} is down (${assessment.evidence.join("; ")}); a switchover needs a live master`,
      {
        recommendedMode: "promote",
        advice: "Use --mode promote (fastest) or --mode replace (rebuild the master on a spare).",
      },
    );
  }
  const mode = request.mode ?? context.chooseMode();
  if (typeof mode !== "string") return { ok: false, refusal: mode };
  switch (mode) {
    case "replace":
      return context.planReplace();
    case "promote":
      return context.planPromote();
    case "switchover":
      return context.planSwitchover();
  }
}

type Master = MasterView & { name: string };

class PlanContext {
  readonly #input: PlanInput;
  readonly #assessment: Assessment;
  readonly #master: Master;
  #modeReason = "";

  constructor(input: PlanInput, assessment: Assessment, master: Master) {
    this.#input = input;
    this.#assessment = assessment;
    this.#master = master;
  }

  chooseMode(): Mode | Refusal {
    const master = this.#master;
    if (master.state === "up") {
      this.#modeReason = `${master.name} answers as master, so a planned switchover is possible and loses no acknowledged write`;
      return "switchover";
    }
    const evidence = `${master.name} is down (${this.#assessment.evidence.join("; ")})`;
    const best = this.#candidates().find((candidate) => candidate.eligible);
    if (best) {
      this.#modeReason = `${evidence}; promoting ${best.name} is the fastest way back to a writable master (no copy). Use --mode replace to rebuild the master on a spare instead`;
      return "promote";
    }
    const spare = this.#spareFor("replace");
    if (typeof spare !== "string") {
      this.#modeReason = `${evidence}; no replica can be promoted (${this.#candidates()
        .map((candidate) => `${candidate.name}: ${candidate.reason}`)
        .join(
          "; ",
        )}), so the master is rebuilt on the spare ${spare.name} from a replica's snapshot`;
      return "replace";
    }
    return {
      reason: `${evidence}, no replica can be promoted and there is no usable spare: ${spare}`,
      advice: "Check the replicas' replica-priority and state, or name a spare with --spare HOST.",
    };
  }

  planReplace(): PlanOutcome {
    const master = this.#master;
    const source = this.#snapshotSource();
    if ("reason" in source) return { ok: false, refusal: source };
    const spare = this.#spareFor("replace");
    if (typeof spare === "string") return refuse(spare);
    const sourceHost = this.#host(source.name);
    const spareHost = this.#host(spare.name);
    const spareFacts = this.#input.hostFacts.get(spare.name);
    const sourceFacts = this.#input.hostFacts.get(source.name);
    for (const [host, facts] of [
      [sourceHost, sourceFacts],
      [spareHost, spareFacts],
    ] as const) {
      if (host.transport.kind === "none") {
        return refuse(
          `replace runs commands on ${host.name} but the inventory gives no ssh: settings for it`,
        );
      }
      if (!facts?.reachable) {
        return refuse(`cannot run commands on ${host.name}: ${facts?.error ?? "not inspected"}`, {
          advice: "Fix SSH access (address, user, key, known_hosts) and plan again.",
        });
      }
      if (!facts.tools.sha256sum)
        return refuse(`${host.name} has no sha256sum, needed to verify the copy`);
    }
    if (!spareHost.start) {
      return refuse(
        `host ${spare.name} has no start: command in the inventory, needed to start Redis there`,
      );
    }
    if (!spareFacts?.dir) {
      return refuse(
        `the data directory of ${spare.name} is unknown: set dir: for it in the inventory`,
      );
    }
    if (!spareFacts.dirExists)
      return refuse(`${spare.name}: ${spareFacts.error ?? `${spareFacts.dir} does not exist`}`);
    const sourceDir = source.dir ?? sourceHost.dir;
    if (!sourceDir) {
      return refuse(
        `cannot find ${source.name}'s snapshot: CONFIG GET dir failed and the inventory has no dir: for it`,
      );
    }
    const sourcePath = posix.join(sourceDir, source.dbfilename ?? sourceHost.dbfilename);
    const targetPath = posix.join(spareFacts.dir, spareHost.dbfilename);
    const spareRef = ref(spareHost);
    const sourceRef = ref(sourceHost);
    const others = this.#assessment.replicas.filter((node) => node.name !== source.name);
    const copy: StepSpec = {
      kind: "copy-rdb",
      from: sourceRef,
      to: spareRef,
      sourcePath,
      targetPath,
      ...checkRdbFields(chooseCheckRdb(spareFacts.tools, source)),
    };
    const copySettings = this.#input.cluster.copy;
    if (copySettings?.mode === "direct") {
      if (!sourceFacts?.tools.ssh) {
        return refuse(`copy: direct runs ssh on ${source.name}, which has no ssh client`, {
          advice: "Install the OpenSSH client there, or use copy: { mode: relay }.",
        });
      }
      for (const [key, file] of [
        ["identityFile", copySettings.identityFile],
        ["knownHostsFile", copySettings.knownHostsFile],
      ] as const) {
        if (!sourceFacts.readable?.includes(file)) {
          return refuse(
            `copy: direct: the ${key} ${file} is missing or unreadable on ${source.name}`,
            {
              advice: `Put ${key === "identityFile" ? `${source.name}'s private key for ${spare.name}` : `a known_hosts file listing ${spare.name}'s host key`} there, or use copy: { mode: relay }.`,
            },
          );
        }
      }
    }
    if (copySettings?.mode === "direct" && spareHost.transport.kind === "ssh") {
      const { user, host, port } = spareHost.transport.ssh;
      copy.direct = {
        user,
        host,
        port,
        identityFile: copySettings.identityFile,
        knownHostsFile: copySettings.knownHostsFile,
      };
    }

    const specs: StepSpec[] = [
      {
        kind: "recheck",
        expectMaster: "down",
        master: this.#masterRef(),
        mustAnswer: [{ ref: sourceRef, role: "replica" }],
        mustBeSilent: [spareRef],
      },
      {
        kind: "snapshot",
        host: sourceRef,
        fallbackToSave: this.#input.cluster.snapshot.fallbackToSave,
      },
      copy,
    ];
    const aofOn = spareFacts.configAppendonly === true;
    const needsPrepare = spareFacts.aofFiles.length > 0 || aofOn;
    // Nothing to do between install and start: the copy's command on the spare starts Redis
    // too, saving a round trip; the start step then verifies.
    if (!needsPrepare) copy.thenStart = spareHost.start;
    if (needsPrepare) {
      const prepare: StepSpec = {
        kind: "prepare-spare",
        host: spareRef,
        moveAside: spareFacts.aofFiles,
      };
      if (aofOn && spareHost.config) prepare.disableAofIn = spareHost.config;
      specs.push(prepare);
    }
    specs.push({
      kind: "start-redis",
      host: spareRef,
      command: spareHost.start,
      expectKeys: "snapshot",
      ...(needsPrepare ? {} : { startedByCopy: true }),
    });
    if (aofOn) specs.push({ kind: "enable-aof", host: spareRef });
    specs.push({ kind: "replicate", replica: sourceRef, master: spareRef });
    specs.push(...this.#repoint(others, spareRef));
    specs.push(
      ...this.#finish(spareRef, [sourceRef, ...others.map((node) => ref(this.#host(node.name)))]),
    );
    const handBack = sentinelHandBack(
      this.#input.cluster,
      this.#input.topology,
      this.#masterRef(),
      spareRef,
    );
    if (handBack && "reason" in handBack) return { ok: false, refusal: handBack };
    if (handBack) {
      // Out of Sentinel's hands before anything changes; back in them before clients are told.
      specs.splice(1, 0, handBack.remove);
      specs.splice(specs.length - 1, 0, handBack.monitor);
    }

    const risks = [
      `Writes ${master.name} accepted after ${source.name} last heard from it (${describeAge(lastHeardSecondsAgo(source))} before the plan) are not in the snapshot and are lost unless ${master.name} comes back.`,
      `${source.name} discards its own copy when it starts replicating from ${spare.name}; that happens only after ${spare.name} has started and shown the snapshot's key count.`,
      ...this.#unreachableReplicaRisks(spareRef),
    ];
    if (handBack) {
      risks.push(
        `No Sentinel watches ${handBack.remove.masterName} from step 2 until the Sentinel step near the end; if the run stops in between, its report gives the commands that put them back.`,
      );
    }
    if (spareFacts.configAppendonly === undefined && spareFacts.aofFiles.length === 0) {
      risks.push(
        `${spare.name}'s redis.conf is not in the inventory (config:), so whether it turns AOF on is unknown; if it does, Redis would start empty — the start step checks the key count and stops before ${source.name} is touched.`,
      );
    }
    if (spareFacts.rdbExists) {
      risks.push(
        `${spare.name} already has ${targetPath} (${spareFacts.rdbBytes ?? "?"} bytes): it is kept under a new name, not overwritten.`,
      );
    }
    if (!this.#modeReason) {
      this.#modeReason = `requested: rebuild the master on ${spare.name} from ${source.name}'s snapshot (the book's procedure)`;
    }
    return this.#plan("replace", spareRef, specs, risks, this.#exposureFor(source));
  }

  planPromote(): PlanOutcome {
    const chosen = this.#promotionTarget();
    if ("reason" in chosen) return { ok: false, refusal: chosen };
    const target = this.#mostAdvanced(chosen);
    if ("reason" in target) return { ok: false, refusal: target };
    const targetRef = ref(this.#host(target.name));
    const others = this.#assessment.replicas.filter((node) => node.name !== target.name);
    const viaSentinel = this.#sentinelFailover(targetRef, false);
    if (viaSentinel && "reason" in viaSentinel) return { ok: false, refusal: viaSentinel };
    const specs: StepSpec[] = [
      {
        kind: "recheck",
        expectMaster: "down",
        master: this.#masterRef(),
        mustAnswer: [{ ref: targetRef, role: "replica" }],
        mustBeSilent: [],
      },
      viaSentinel ?? { kind: "promote", host: targetRef },
      ...this.#repoint(others, targetRef),
    ];
    const spareSteps = this.#spareAsReplica(targetRef);
    if ("reason" in spareSteps) return { ok: false, refusal: spareSteps };
    specs.push(...spareSteps.steps);
    specs.push(
      ...this.#finish(
        targetRef,
        others.map((node) => ref(this.#host(node.name))),
      ),
    );
    if (!this.#modeReason) this.#modeReason = `requested: promote ${target.name}`;
    const risks = [
      `Writes ${this.#master.name} accepted after ${target.name} last heard from it (${describeAge(lastHeardSecondsAgo(target))} before the plan) are lost unless ${this.#master.name} comes back.`,
      ...others.map(
        (other) =>
          `${other.name} resynchronises from ${target.name} (a full sync if it is ahead of it).`,
      ),
      ...this.#unreachableReplicaRisks(targetRef),
      ...spareSteps.risks,
    ];
    return this.#plan("promote", targetRef, specs, risks, this.#exposureFor(target));
  }

  planSwitchover(): PlanOutcome {
    const master = this.#master;
    const masterNode = this.#node(master.name);
    const target = this.#switchoverTarget();
    if ("reason" in target) return { ok: false, refusal: target };
    const announced = masterNode?.replicas.find((replica) => replica.hostName === target.name);
    if (announced?.state !== "online") {
      return refuse(
        `${master.name} does not list ${target.name} among its online replicas (it lists: ${
          masterNode?.replicas
            .map((replica) => `${replica.ip}:${replica.port} ${replica.state}`)
            .join(", ") || "none"
        })`,
        { advice: `Check ${target.name}'s replica-announce-ip/port, or wait until it is in sync.` },
      );
    }
    const targetRef = ref(this.#host(target.name));
    const masterRef = this.#masterRef();
    const others = this.#assessment.replicas.filter((node) => node.name !== target.name);
    const modern = versionAtLeast(masterNode?.version, 6, 2);
    // FAILOVER may be renamed or disabled (rename-command); then a write pause does its job.
    const switchMethod = !modern
      ? "refuse-writes"
      : masterNode?.failoverCommand === false
        ? "client-pause"
        : "failover-command";
    const useFailoverCommand = switchMethod === "failover-command";
    const viaSentinel = this.#sentinelFailover(targetRef, true);
    if (viaSentinel && "reason" in viaSentinel) return { ok: false, refusal: viaSentinel };
    const handOver: StepSpec = viaSentinel ?? {
      kind: "switchover",
      master: masterRef,
      target: targetRef,
      targetAnnounced: { ip: announced.ip, port: announced.port },
      method: switchMethod,
      timeoutMs: this.#input.cluster.timeouts.failoverMs,
      // Covers the wait plus the swap (two commands, each bounded by the command timeout).
      pauseMs: this.#input.cluster.timeouts.failoverMs + 2 * this.#input.cluster.timeouts.commandMs,
      ...(switchMethod !== "refuse-writes"
        ? {}
        : {
            restoreConfig: {
              minReplicasToWrite: masterNode?.minReplicasToWrite ?? 0,
              minReplicasMaxLag: masterNode?.minReplicasMaxLag ?? 10,
            },
          }),
    };
    const specs: StepSpec[] = [
      {
        kind: "recheck",
        expectMaster: "up",
        master: masterRef,
        mustAnswer: [{ ref: targetRef, role: "replica" }],
        mustBeSilent: [],
      },
      handOver,
      ...this.#repoint(others, targetRef),
    ];
    const spareSteps = this.#spareAsReplica(targetRef);
    if ("reason" in spareSteps) return { ok: false, refusal: spareSteps };
    specs.push(...spareSteps.steps);
    specs.push(
      ...this.#finish(targetRef, [masterRef, ...others.map((node) => ref(this.#host(node.name)))]),
    );
    if (!this.#modeReason) this.#modeReason = `requested: planned switchover to ${target.name}`;
    const method = viaSentinel
      ? `CLIENT PAUSE WRITE, then SENTINEL FAILOVER ${viaSentinel.masterName}`
      : useFailoverCommand
        ? `FAILOVER (${masterNode?.server ?? `Redis ${masterNode?.version}`})`
        : switchMethod === "client-pause"
          ? "CLIENT PAUSE WRITE, because FAILOVER is not available on this server"
          : `writes refused with min-replicas-to-write, because Redis ${masterNode?.version ?? "?"} predates FAILOVER (6.2)`;
    const risks = [
      viaSentinel
        ? `Writes pause on ${master.name} while ${target.name} catches up and the Sentinels switch (${method}; at most ${viaSentinel.pauseMs} ms); they resume once ${master.name} follows ${target.name}, or on ${master.name} if the failover does not happen. Sentinel picks among equal-priority replicas by the offsets it last saw: the step checks its pick right before asking and changes nothing if it is not ${target.name}.`
        : switchMethod !== "refuse-writes"
          ? `Writes pause while ${target.name} catches up (at most ${this.#input.cluster.timeouts.failoverMs} ms, ${method}); if it cannot catch up, or the swap fails, writes resume on ${master.name} and nothing changes.`
          : `Writes are refused (NOREPLICAS) for at most ${this.#input.cluster.timeouts.failoverMs} ms while ${target.name} catches up (${method}); if it cannot catch up, nothing changes.`,
      ...this.#unreachableReplicaRisks(targetRef),
      ...spareSteps.risks,
    ];
    return this.#plan(
      "switchover",
      targetRef,
      specs,
      risks,
      `None expected: ${target.name} takes over only once it has every write ${master.name} acknowledged.`,
    );
  }

  #sentinelFailover(target: HostRef, pause: boolean) {
    const { cluster, topology } = this.#input;
    return sentinelFailoverStep(cluster, topology, this.#masterRef(), target, pause);
  }

  /** Each of `replicas` made a replica of `master`, in order. */
  #repoint(replicas: readonly NodeState[], master: HostRef): StepSpec[] {
    return replicas.map(
      (replica): StepSpec => ({
        kind: "replicate",
        replica: ref(this.#host(replica.name)),
        master,
      }),
    );
  }

  /** Fence the old master, then tell clients. */
  #finish(newMaster: HostRef, repointed: HostRef[]): StepSpec[] {
    const discovery = this.#input.cluster.discovery;
    const masterRef = this.#masterRef();
    const reconnect = [...repointed];
    if (!reconnect.some((entry) => entry.name === masterRef.name)) reconnect.push(masterRef);
    const announce: StepSpec = { kind: "announce", newMaster, reconnectClientsOn: reconnect };
    if (discovery) announce.discovery = { url: redactUrl(discovery.url), key: discovery.key };
    return [{ kind: "fence", host: masterRef, newMaster }, announce];
  }

  #spareAsReplica(newMaster: HostRef): { steps: StepSpec[]; risks: string[] } | Refusal {
    const name = this.#input.request.spare;
    if (!name) return { steps: [], risks: [] };
    const host = this.#host(name);
    if (name === this.#master.name)
      return { reason: `${name} is the old master; it cannot also be the spare` };
    const node = this.#node(name);
    const spareRef = ref(host);
    if (node?.reachable) {
      if (node.role === "replica" && node.master?.hostName === this.#master.name) {
        return {
          reason: `${name} is already a replica; --spare names a machine that is not part of the replication yet`,
        };
      }
      return { steps: [{ kind: "replicate", replica: spareRef, master: newMaster }], risks: [] };
    }
    const facts = this.#input.hostFacts.get(name);
    if (host.transport.kind === "none") {
      return {
        reason: `the spare ${name} does not run Redis and the inventory gives no ssh: settings to start it`,
      };
    }
    if (!facts?.reachable)
      return {
        reason: `cannot run commands on the spare ${name}: ${facts?.error ?? "not inspected"}`,
      };
    if (!host.start) return { reason: `host ${name} has no start: command in the inventory` };
    const moveAside = [...facts.aofFiles];
    if (facts.rdbExists && facts.dir) moveAside.push(posix.join(facts.dir, host.dbfilename));
    const steps: StepSpec[] = [];
    if (moveAside.length > 0) steps.push({ kind: "prepare-spare", host: spareRef, moveAside });
    steps.push({ kind: "start-redis", host: spareRef, command: host.start, expectKeys: "empty" });
    steps.push({ kind: "replicate", replica: spareRef, master: newMaster });
    const risks = moveAside.length
      ? [`Old data files on ${name} are renamed (kept) so that it starts empty before syncing.`]
      : [];
    return { steps, risks };
  }

  #snapshotSource(): NodeState | Refusal {
    const requested = this.#input.request.replica;
    const replicas = this.#assessment.replicas;
    if (requested) {
      const node = replicas.find((replica) => replica.name === requested);
      if (!node) {
        return {
          reason: `${requested} is not a reachable replica of ${this.#master.name}; reachable replicas: ${names(replicas)}`,
        };
      }
      return usableSource(node) ?? node;
    }
    const usable = replicas
      .filter((replica) => !usableSource(replica))
      .sort((a, b) => (b.offset ?? 0) - (a.offset ?? 0) || a.name.localeCompare(b.name));
    const best = usable[0];
    if (!best) {
      return {
        reason: `no reachable replica of ${this.#master.name} can provide a snapshot${
          replicas.length
            ? ` (${replicas.map((replica) => `${replica.name}: ${usableSource(replica)?.reason}`).join("; ")})`
            : ""
        }`,
      };
    }
    return best;
  }

  #promotionTarget(): NodeState | Refusal {
    const candidates = this.#candidates();
    const requested = this.#input.request.replica;
    const chosen = requested
      ? candidates.find((candidate) => candidate.name === requested)
      : candidates.find((candidate) => candidate.eligible);
    if (requested && !chosen) {
      return {
        reason: `${requested} is not a reachable replica of ${this.#master.name}; reachable replicas: ${names(this.#assessment.replicas)}`,
      };
    }
    if (!chosen) {
      return {
        reason: `no replica of ${this.#master.name} can be promoted: ${
          candidates.map((candidate) => `${candidate.name}: ${candidate.reason}`).join("; ") ||
          "none is reachable"
        }`,
        recommendedMode: "replace",
        advice: "Use --mode replace --spare HOST to rebuild the master on a spare machine.",
      };
    }
    if (!chosen.eligible) return { reason: `${chosen.name} cannot be promoted: ${chosen.reason}` };
    const node = this.#node(chosen.name);
    return node ?? { reason: `${chosen.name} vanished from the topology` };
  }

  /**
   * A replica repointed to a new master that is behind it discards what it holds beyond the
   * new master's offset (its PSYNC fails, a full sync follows). So the new master must be at
   * least as far as every replica it will take: an eligible replica that is ahead is proposed
   * instead (unless one was named), anything else is refused.
   */
  #mostAdvanced(chosen: NodeState): NodeState | Refusal {
    const offsetOf = (node: NodeState) => node.offset ?? 0;
    const ahead = this.#assessment.replicas
      // A replica loading or in a full sync holds an incomplete dataset: nothing to keep.
      .filter(
        (node) =>
          node.name !== chosen.name && !usableSource(node) && offsetOf(node) > offsetOf(chosen),
      )
      .sort((a, b) => offsetOf(b) - offsetOf(a) || a.name.localeCompare(b.name));
    const furthest = ahead[0];
    if (!furthest) return chosen;
    const bytes = offsetOf(furthest) - offsetOf(chosen);
    const eligible = this.#candidates().find(
      (candidate) => candidate.name === furthest.name && candidate.eligible,
    );
    if (eligible && !this.#input.request.replica) {
      this.#modeReason = `${this.#modeReason ? `${this.#modeReason}. ` : ""}${furthest.name} is promoted rather than ${chosen.name} (preferred by replica-priority): it holds ${bytes} bytes of replication stream more, which repointing it to ${chosen.name} would discard`;
      return furthest;
    }
    return {
      reason: `${furthest.name} is ${bytes} bytes ahead of ${chosen.name}: making it a replica of ${chosen.name} would discard writes only it holds`,
      advice: eligible
        ? `Promote ${furthest.name} instead (--replica ${furthest.name}).`
        : `${furthest.name} cannot be promoted (${this.#candidates().find((candidate) => candidate.name === furthest.name)?.reason ?? "not eligible"}); fix that (for example CONFIG SET replica-priority 100 on it) and plan again, or take its data by hand first.`,
    };
  }

  #switchoverTarget(): NodeState | Refusal {
    const target = this.#promotionTarget();
    if ("reason" in target) return target;
    if (target.master?.linkStatus !== "up") {
      return {
        reason: `${target.name}'s link to ${this.#master.name} is down; a switchover needs a replica in sync`,
      };
    }
    return target;
  }

  /** The spare for replace: --spare, or the only silent host the bot can run commands on. */
  #spareFor(mode: Mode): NodeState | string {
    const requested = this.#input.request.spare;
    if (requested) {
      if (requested === this.#master.name)
        return `${requested} is the lost master; the spare must be another machine`;
      const node = this.#node(requested);
      if (!node) return `unknown spare ${requested}`;
      if (node.reachable) {
        return `Redis already runs on the spare ${requested} (${node.role ?? "unknown role"}, ${node.keys ?? 0} keys); ${mode} starts Redis there from the snapshot, so it must not be running. Stop it first, or use --mode promote --spare ${requested} to make it a replica`;
      }
      return node;
    }
    const usable = this.#assessment.silent.filter(
      (node) => this.#host(node.name).transport.kind !== "none",
    );
    if (usable.length === 1 && usable[0]) return usable[0];
    if (usable.length === 0)
      return "no spare: every other host runs Redis or has no ssh: settings; name one with --spare HOST";
    return `several hosts could be the spare (${names(usable)}); name one with --spare HOST`;
  }

  #candidates(): Candidate[] {
    return rankCandidates(this.#assessment.replicas);
  }

  #unreachableReplicaRisks(newMaster: HostRef): string[] {
    return this.#assessment.silent
      .filter(
        (node) =>
          node.name !== this.#input.request.spare &&
          this.#host(node.name).transport.kind === "none",
      )
      .map(
        (node) =>
          `${node.name} does not answer and is left alone; if it comes back as a replica of the old master, repoint it: ${redisCli(this.#input.cluster, node, cliProgramFor(this.#input.topology, node.name))} REPLICAOF ${newMaster.host} ${newMaster.port}`,
      );
  }

  #exposureFor(node: NodeState): string {
    const age = lastHeardSecondsAgo(node);
    return `${node.name} last heard from ${this.#master.name} ${describeAge(age)} before the plan (offset ${node.offset ?? "?"}); writes acknowledged by ${this.#master.name} after that are lost.`;
  }

  #plan(
    mode: Mode,
    newMaster: HostRef,
    specs: StepSpec[],
    risks: string[],
    exposure: string,
  ): PlanOutcome {
    const { runId, topology, now, hostFacts } = this.#input;
    const steps: PlannedStep[] = specs.map((spec, i) => ({
      index: i + 1,
      ...describeStep(spec, runId),
      spec,
    }));
    const candidates = mode === "switchover" || mode === "promote" ? this.#candidates() : [];
    const plan: Plan = {
      runId,
      cluster: this.#input.cluster.name,
      createdAt: now,
      mode,
      modeReason: this.#modeReason,
      oldMaster: this.#masterRef(),
      newMaster,
      candidates,
      exposure,
      steps,
      risks,
      topology,
      assessment: this.#assessment,
      hostFacts: [...hostFacts.values()],
    };
    return { ok: true, plan };
  }

  #masterRef(): HostRef {
    return ref(this.#host(this.#master.name));
  }

  #host(name: string): HostConfig {
    const host = this.#input.cluster.hosts.find((candidate) => candidate.name === name);
    if (!host) throw new Error(`host ${name} is not in cluster ${this.#input.cluster.name}`);
    return host;
  }

  #node(name: string): NodeState | undefined {
    return this.#input.topology.nodes.find((node) => node.name === name);
  }
}

function usableSource(node: NodeState): Refusal | undefined {
  if (node.loading) return { reason: `${node.name} is still loading its dataset` };
  if (node.master?.syncInProgress)
    return { reason: `${node.name} was in the middle of a full sync: its dataset is incomplete` };
  return undefined;
}

export function ref(host: HostConfig): HostRef {
  return { name: host.name, host: host.redis.host, port: host.redis.port };
}

export function refuse(reason: string, extra: Omit<Refusal, "reason"> = {}): PlanOutcome {
  return { ok: false, refusal: { reason, ...extra } };
}

function names(nodes: readonly { name: string }[]): string {
  return nodes.map((node) => node.name).join(", ") || "none";
}

function hostNames(cluster: ClusterConfig): string {
  return cluster.hosts.map((host) => host.name).join(", ");
}

export function describeAge(seconds: number | undefined): string {
  if (seconds === undefined) return "an unknown time";
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** Shows a discovery URL without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "redacted";
    return parsed.toString();
  } catch {
    // Unparseable (a raw "/" in the password): hide everything up to the last "@".
    return url.replace(/^([a-z]+:\/\/)[\s\S]*@/i, "$1[redacted]@");
  }
}

/** A copy step's checker fields: checkRdbTool only when it is not the default redis-check-rdb. */
function checkRdbFields(
  tool: CheckRdbTool | undefined,
): Pick<Extract<StepSpec, { kind: "copy-rdb" }>, "checkRdb" | "checkRdbTool"> {
  if (!tool) return { checkRdb: false };
  return tool === "redis-check-rdb" ? { checkRdb: true } : { checkRdb: true, checkRdbTool: tool };
}
