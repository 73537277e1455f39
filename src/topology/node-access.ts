import type { RedisNode } from "../redis/node.js";

/** How discovery reaches each host's Redis (the engine's connection pool provides it). */
export interface NodeAccess {
  redis(hostName: string): RedisNode;
  /** A declared Sentinel; only needed for clusters whose inventory declares them. */
  sentinel?(endpoint: { host: string; port: number }): RedisNode;
}
