/** What the bot observed of a cluster at one moment: plain data, safe to serialise and show. */

export interface Endpoint {
  host: string;
  port: number;
}

export interface ReplicaLink {
  host: string;
  port: number;
  /** The inventory's name for the master this replica follows, when it is one of ours. */
  hostName?: string;
  linkStatus: "up" | "down";
  /** Seconds since the link went down (Redis' master_link_down_since_seconds). */
  linkDownSinceSeconds?: number;
  /** Seconds since the replica last heard from its master. */
  lastIoSecondsAgo?: number;
  syncInProgress: boolean;
}

export interface AttachedReplica {
  ip: string;
  port: number;
  hostName?: string;
  state: string;
  offset: number;
  lag: number;
}

export interface NodeState {
  /** Inventory host name. */
  name: string;
  host: string;
  port: number;
  reachable: boolean;
  /** Why the bot could not talk to it. */
  error?: string;
  latencyMs?: number;
  role?: "master" | "replica";
  version?: string;
  /** Flavour and own version, e.g. "Redis 7.0.15", "Valkey 8.0.1" (`version` stays the Redis-compatible one). */
  server?: string;
  runId?: string;
  loading?: boolean;
  /** Set when role is replica. */
  master?: ReplicaLink;
  /** master_repl_offset on a master, slave_repl_offset on a replica. */
  offset?: number;
  replicationId?: string;
  /** Lower is preferred for promotion; 0 means never promote (Sentinel's convention). */
  replicaPriority?: number;
  replicas: AttachedReplica[];
  keys?: number;
  lastSaveTime?: number;
  bgsaveInProgress?: boolean;
  lastBgsaveStatus?: string;
  aofEnabled?: boolean;
  aofRewriteInProgress?: boolean;
  /** From CONFIG GET, when the server allows it. */
  dir?: string;
  dbfilename?: string;
  minReplicasToWrite?: number;
  /** Whether the FAILOVER command is available (false when renamed or disabled). */
  failoverCommand?: boolean;
  minReplicasMaxLag?: number;
  failoverState?: string;
  /** INFO cluster_enabled:1: a Redis Cluster node, where REPLICAOF is refused. */
  clusterEnabled?: boolean;
  /** CONFIG repl-ping-replica-period (seconds): how often a master pings its replicas. */
  replPingPeriod?: number;
  /** CONFIG repl-timeout (seconds): how long a replica waits before marking its link down. */
  replTimeout?: number;
  /** Subscribers of `__sentinel__:hello` on this server: Sentinels that manage it. */
  sentinelSubscribers?: number;
}

export interface Topology {
  cluster: string;
  /** Unix milliseconds. */
  observedAt: number;
  nodes: NodeState[];
  /** What the declared Sentinels say, when the inventory declares them (sentinel:). */
  sentinel?: SentinelView;
}

/** One declared Sentinel's view of the cluster's master. */
export interface SentinelState {
  host: string;
  port: number;
  reachable: boolean;
  error?: string;
  /** False when it answers but does not monitor the master name (SENTINEL REMOVE, or never told). */
  monitors?: boolean;
  /** The master this Sentinel gives clients, with the inventory's name for it when it is ours. */
  master?: { host: string; port: number; hostName?: string };
  flags?: string[];
  quorum?: number;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  parallelSyncs?: number;
  otherSentinels?: number;
  /** SENTINEL CKQUORUM: "ok", or why a failover could not be authorised. */
  ckquorum?: string;
  replicas?: Array<{
    host: string;
    port: number;
    hostName?: string;
    flags: string[];
    priority: number;
    offset: number;
    runId: string;
  }>;
}

export interface SentinelView {
  masterName: string;
  sentinels: SentinelState[];
  /** Declared Sentinels that must agree: a majority of them. */
  quorum: number;
  /** The master a quorum of declared Sentinels names, if any. */
  agreed?: { host: string; port: number; hostName?: string };
  /** Sentinels disagreeing with each other or with the servers, in words. */
  disagreements: string[];
}

/** What the bot learned about a machine over its remote transport (SSH or local). */
export interface HostFacts {
  name: string;
  /** Whether a remote command could run there at all. */
  reachable: boolean;
  error?: string;
  /** Redis data directory used for the snapshot (inventory `dir`, else from redis.conf). */
  dir?: string;
  dirExists?: boolean;
  rdbExists?: boolean;
  rdbBytes?: number;
  /** Append-only files found in the data directory (they win over the RDB at start-up). */
  aofFiles: string[];
  /** `appendonly` as written in the host's redis.conf, when the inventory names it. */
  configAppendonly?: boolean;
  tools: { sha256sum: boolean; redisCheckRdb: boolean; valkeyCheckRdb?: boolean; ssh?: boolean };
  /** Which of the files preflight was asked about (copy: direct's key and known_hosts) are readable there. */
  readable?: string[];
}

/** The RDB structure checkers the bot knows: Redis's, and Valkey's (its packages ship no redis-check-rdb). */
export type CheckRdbTool = "redis-check-rdb" | "valkey-check-rdb";
