import type { NodeState, SentinelView } from "./types.js";

/** One line per server, the same wherever a topology is shown (plans, step output, reports). */
export function describeNode(node: NodeState): string {
  if (!node.reachable) {
    // A stopped Redis (a spare before a replace) is a state, not a mystery.
    if (isStopped(node)) return `${node.name} (${node.host}:${node.port}): Redis not running`;
    return `${node.name} (${node.host}:${node.port}): not answering — ${node.error ?? "no reply"}`;
  }
  const parts = [roleText(node)];
  if (node.server) parts.push(node.server);
  if (node.loading) parts.push("LOADING");
  if (node.offset !== undefined) parts.push(`offset ${node.offset}`);
  if (node.keys !== undefined) parts.push(`${node.keys} keys`);
  if (node.role === "master" && node.replicas.length > 0) {
    parts.push(
      `replicas: ${node.replicas.map((replica) => `${replica.hostName ?? `${replica.ip}:${replica.port}`} (${replica.state}, lag ${replica.lag} s)`).join(", ")}`,
    );
  }
  return `${node.name} (${node.host}:${node.port}): ${parts.join(", ")}`;
}

/** The host answered that nothing listens on the Redis port: Redis is stopped, the machine is up. */
export function isStopped(node: NodeState): boolean {
  return !node.reachable && /connection refused/.test(node.error ?? "");
}

export function roleText(node: NodeState): string {
  if (!node.reachable) return "down";
  if (node.role === "replica" && node.master) {
    const link = node.master;
    const master = link.hostName ?? `${link.host}:${link.port}`;
    const state =
      link.linkStatus === "up"
        ? "link up"
        : `link DOWN${link.linkDownSinceSeconds !== undefined ? ` for ${link.linkDownSinceSeconds} s` : ""}`;
    return `replica of ${master}, ${state}${link.syncInProgress ? ", syncing" : ""}`;
  }
  return node.role ?? "unknown role";
}

/** One line per declared Sentinel, then every disagreement: `status` shows this beside the servers. */
export function describeSentinels(view: SentinelView): string[] {
  const named = (entry: { host: string; port: number; hostName?: string }) =>
    entry.hostName ?? `${entry.host}:${entry.port}`;
  const lines = view.sentinels.map((sentinel) => {
    const where = `Sentinel ${sentinel.host}:${sentinel.port}`;
    if (!sentinel.reachable) return `${where}: not answering — ${sentinel.error ?? "no reply"}`;
    if (!sentinel.monitors || !sentinel.master)
      return `${where}: does not monitor ${view.masterName}`;
    const replicas = (sentinel.replicas ?? [])
      .map(
        (replica) => `${named(replica)} (${replica.flags.join(",")}, priority ${replica.priority})`,
      )
      .join(", ");
    return `${where}: master ${named(sentinel.master)} (${sentinel.master.host}:${sentinel.master.port}), flags ${(sentinel.flags ?? []).join(",") || "-"}, quorum ${sentinel.quorum ?? "?"} (${sentinel.ckquorum === "ok" ? "ok" : `NOT ok: ${sentinel.ckquorum ?? "unknown"}`}), replicas: ${replicas || "none"}`;
  });
  lines.push(
    view.agreed
      ? `Sentinels (${view.masterName}): ${view.quorum} of ${view.sentinels.length} needed; they name ${named(view.agreed)}`
      : `Sentinels (${view.masterName}): no ${view.quorum} of ${view.sentinels.length} agree on a master`,
  );
  for (const disagreement of view.disagreements) lines.push(`DISAGREE: ${disagreement}`);
  return lines;
}
