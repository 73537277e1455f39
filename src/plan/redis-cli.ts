import type { ClusterConfig } from "../config/inventory.js";
import { quote } from "../remote/shell.js";
import type { HostRef } from "./types.js";

/**
 * `redis-cli` for one server of the cluster with the flags it needs to connect at all: TLS
 * (--tls, --cacert, --sni, --insecure), the ACL user named by the inventory's environment
 * variable, and --askpass for the password (typed, never shown). For commands handed to people.
 */
export function redisCli(
  cluster: Pick<ClusterConfig, "tls" | "redisUsernameEnv" | "redisPasswordEnv">,
  server: Pick<HostRef, "host" | "port">,
): string {
  const parts = ["redis-cli", "-h", quote(server.host), "-p", String(server.port)];
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
