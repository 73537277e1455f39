import { cliProgramFor, redisCli } from "../plan/redis-cli.js";
import type { HostRef } from "../plan/types.js";
import type { StepContext } from "./step-context.js";

/**
 * The CLI command line a step hands to people for one of the run's servers: the cluster's TLS
 * and ACL flags, and valkey-cli for a Valkey server (as the plan's topology saw it).
 */
export function handOutCli(
  context: Pick<StepContext, "cluster" | "plan">,
  server: Pick<HostRef, "name" | "host" | "port">,
): string {
  return redisCli(context.cluster, server, cliProgramFor(context.plan?.topology, server.name));
}
