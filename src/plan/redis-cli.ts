import type { ClusterConfig } from "../config/inventory.js";
import { quote } from "../remote/shell.js";
import type { Topology } from "../topology/types.js";
import type { HostRef } from "./types.js";

/** The command-line client a server's packages ship: Debian's Valkey packages have only valkey-cli. */
export type CliProgram = "redis-cli" | "valkey-cli";

/** The CLI of a flavour as `status` names it ("Valkey 8.0.1"); undefined when not known. */
export function cliProgramOf(server: string | undefined): CliProgram | undefined {
  if (server === undefined) return undefined;
  return /^valkey\b/i.test(server) ? "valkey-cli" : "redis-cli";
}

/**
 * The CLI to hand out for `hostName`: its own flavour when it answered; else the flavour every
 * server that answered shares (a hung Valkey master still gets valkey-cli); else redis-cli.
 * Without a host name (commands for the cluster's Sentinels), the flavour the servers share.
 */
export function cliProgramFor(
  topology: Pick<Topology, "nodes"> | undefined,
  hostName?: string,
): CliProgram {
  const nodes = topology?.nodes ?? [];
  const own = cliProgramOf(nodes.find((node) => node.name === hostName)?.server);
  if (own) return own;
  const known = new Set(nodes.map((node) => cliProgramOf(node.server)).filter(Boolean));
  return known.size === 1 ? ([...known][0] as CliProgram) : "redis-cli";
}

/**
 * `redis-cli` (or `program`, e.g. valkey-cli) for one server of the cluster with the flags it
 * needs to connect at all: TLS (--tls, --cacert, --sni, --insecure), the ACL user named by the
 * inventory's environment variable, and --askpass for the password (typed, never shown). For
 * commands handed to people.
 */
export function redisCli(
  cluster: Pick<ClusterConfig, "tls" | "redisUsernameEnv" | "redisPasswordEnv">,
  server: Pick<HostRef, "host" | "port">,
  program: CliProgram = "redis-cli",
): string {
  const parts: string[] = [program, "-h", quote(server.host), "-p", String(server.port)];
  const tls = cluster.tls;
  if (tls) {
    parts.push("--tls");
    if (typeof tls === "object") {
      if (tls.caFile) parts.push("--cacert", quote(tls.caFile));
      if (tls.servername) parts.push("--sni", quote(tls.servername));
      if (tls.rejectUnauthorized === false) parts.push("--insecure");
    }
  }
  if (cluster.redisUsernameEnv) parts.push("--user", `"$${cluster.redisUsernameEnv}"`);
  if (cluster.redisPasswordEnv) parts.push("--askpass");
  return parts.join(" ");
}
