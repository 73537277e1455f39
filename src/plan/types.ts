import type { Assessment } from "../topology/assess.js";
import type { CheckRdbTool, HostFacts, Topology } from "../topology/types.js";

export const MODES = ["replace", "promote", "switchover"] as const;
export type Mode = (typeof MODES)[number];
/** What a plan does: one of the failover modes, or fencing stale masters after one. */
export type PlanKind = Mode | "fence";

/** A server as the plan refers to it: inventory name plus the Redis address. */
export interface HostRef {
  name: string;
  host: string;
  port: number;
}

export interface FailoverRequest {
  cluster: string;
  mode?: Mode;
  /** Inventory name of the spare machine (replace: the new master; promote/switchover: a new replica). */
  spare?: string;
  /** Inventory name of the replica to use (replace: the snapshot source; promote/switchover: the new master). */
  replica?: string;
}

/** Every kind of step the executor knows, with what it needs; plain data so plans can be stored and shown. */
export type StepSpec =
  | {
      kind: "recheck";
      expectMaster: "down" | "up";
      master: HostRef;
      /** Servers that must still answer, with the role each must still have. */
      mustAnswer: Array<{ ref: HostRef; role: "replica" | "master" }>;
      /** Servers on which Redis must still not be running (the spare in replace). */
      mustBeSilent: HostRef[];
    }
  | { kind: "snapshot"; host: HostRef; fallbackToSave: boolean }
  | {
      kind: "copy-rdb";
      from: HostRef;
      to: HostRef;
      sourcePath: string;
      targetPath: string;
      checkRdb: boolean;
      /** Which checker runs when checkRdb is set; absent (plans made before Valkey): redis-check-rdb. */
      checkRdbTool?: CheckRdbTool;
      /** Set for `copy: direct`: the source streams to the target over OpenSSH run on the source. */
      direct?: DirectCopy;
      /** The target's start command, run by the copy's command right after the install. */
      thenStart?: string;
    }
  | {
      kind: "prepare-spare";
      host: HostRef;
      /** Files or directories to move aside (kept, renamed), e.g. an old AOF that would win over the RDB. */
      moveAside: string[];
      /** redis.conf whose `appendonly yes` is switched off for the first start. */
      disableAofIn?: string;
    }
  | {
      kind: "start-redis";
      host: HostRef;
      command: string;
      expectKeys: "snapshot" | "empty";
      /** The copy step's command starts Redis (copy-rdb thenStart); this step then only verifies. */
      startedByCopy?: boolean;
    }
  | { kind: "enable-aof"; host: HostRef }
  | { kind: "promote"; host: HostRef }
  | { kind: "replicate"; replica: HostRef; master: HostRef }
  | {
      kind: "switchover";
      master: HostRef;
      target: HostRef;
      /** How the master lists the target in INFO replication; FAILOVER TO needs exactly that. */
      targetAnnounced: { ip: string; port: number };
      /**
       * failover-command: FAILOVER (6.2+). client-pause: CLIENT PAUSE WRITE (6.2+, when FAILOVER
       * is not usable). refuse-writes: servers before 6.2, where a pause would block our own
       * commands too: the master refuses writes (min-replicas-to-write) until roles have swapped.
       */
      method: "failover-command" | "client-pause" | "refuse-writes";
      /** How long the target may take to catch up. */
      timeoutMs: number;
      /**
       * client-pause: how long writes stay paused; longer than timeoutMs by the time the role
       * swap itself may take, so the pause never ends while the roles are being swapped.
       */
      pauseMs?: number;
      /** refuse-writes: the master's settings before the switchover, put back afterwards. */
      restoreConfig?: { minReplicasToWrite: number; minReplicasMaxLag: number };
    }
  | {
      kind: "sentinel-failover";
      masterName: string;
      /** Every declared Sentinel; the failover is asked of the first that answers and names oldMaster. */
      sentinels: SentinelRef[];
      /** How many of them must name the new master before the step ends (a majority). */
      quorum: number;
      oldMaster: HostRef;
      /** The address the Sentinels gave for the old master when the plan was made. */
      oldAnnounced: { host: string; port: number };
      target: HostRef;
      /** How the Sentinels list the target (its announced address); they report the new master so. */
      targetAnnounced: { host: string; port: number };
      /**
       * switchover: writes pause on the old master until the target holds all of them, so that
       * no acknowledged write is lost, and resume only once the old master follows the target.
       */
      pauseMs?: number;
      /** How long the Sentinels and the servers may take to agree. */
      timeoutMs: number;
    }
  | {
      kind: "sentinel-remove";
      masterName: string;
      /** Each Sentinel with the settings it watched the master with (put back by sentinel-monitor). */
      sentinels: Array<SentinelRef & { settings: SentinelWatchSettings }>;
      oldMaster: HostRef;
    }
  | {
      kind: "sentinel-monitor";
      masterName: string;
      sentinels: Array<SentinelRef & { settings: SentinelWatchSettings }>;
      newMaster: HostRef;
      /** Environment variables whose values Sentinel needs to reach the servers (auth-pass, auth-user). */
      authPassEnv?: string;
      authUserEnv?: string;
      timeoutMs: number;
    }
  | { kind: "fence"; host: HostRef; newMaster: HostRef }
  | {
      kind: "announce";
      newMaster: HostRef;
      discovery?: { url: string; key: string };
      /** Servers whose clients are disconnected so that they reconnect and look up the master again. */
      reconnectClientsOn: HostRef[];
    };

export type StepKind = StepSpec["kind"];

/** A declared Sentinel as a plan refers to it. */
export interface SentinelRef {
  host: string;
  port: number;
}

/** What `SENTINEL MASTER` reports and `SENTINEL MONITOR` + `SENTINEL SET` put back. */
export interface SentinelWatchSettings {
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  parallelSyncs: number;
}

export interface PlannedStep {
  /** 1-based position in the plan. */
  index: number;
  title: string;
  /** Inventory name of the host the step acts on, when there is one. */
  host?: string;
  /** The exact Redis and remote commands the step will run, as approvers will read them. */
  commands: string[];
  /** What can go wrong, or what the step destroys, in one sentence. */
  risk?: string;
  spec: StepSpec;
}

export interface Candidate {
  name: string;
  offset: number;
  /** Bytes of replication stream behind the most advanced replica. */
  behindBestBytes: number;
  /** Seconds since this replica last heard from the master: writes newer than that may be missing. */
  lastHeardSecondsAgo?: number;
  priority: number;
  eligible: boolean;
  /** Why not eligible. */
  reason?: string;
}

export interface Plan {
  runId: string;
  cluster: string;
  createdAt: number;
  mode: PlanKind;
  modeReason: string;
  oldMaster: HostRef;
  newMaster: HostRef;
  candidates: Candidate[];
  /** One line on how much data the failover may lose. */
  exposure: string;
  steps: PlannedStep[];
  risks: string[];
  topology: Topology;
  assessment: Assessment;
  hostFacts: HostFacts[];
}

export interface Refusal {
  reason: string;
  /** The mode that would fit, when another one would. */
  recommendedMode?: Mode;
  advice?: string;
}

export type PlanOutcome = { ok: true; plan: Plan } | { ok: false; refusal: Refusal };

/** How the source reaches the target in a direct copy: paths are on the source machine. */
export interface DirectCopy {
  user: string;
  host: string;
  port: number;
  identityFile: string;
  knownHostsFile: string;
}
