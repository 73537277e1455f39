import Table from "cli-table3";
import type { Assessment } from "../../topology/assess.js";
import { describeSentinels, isStopped, roleText } from "../../topology/describe.js";
import type { Topology } from "../../topology/types.js";

/** `status`: one row per server — role, link, offset, lag, keys, last save. */
export function renderTopologyTable(topology: Topology, assessment?: Assessment): string {
  const table = new Table({
    head: ["host", "address", "role", "link", "offset", "lag", "keys", "last save", "server"],
    style: { head: [], border: [] },
  });
  const lagByName = new Map<string, number>();
  for (const node of topology.nodes) {
    for (const replica of node.replicas)
      if (replica.hostName) lagByName.set(replica.hostName, replica.lag);
  }
  const stopped = (node: Topology["nodes"][number]) =>
    isStopped(node) && assessment?.silent.includes(node) === true;
  for (const node of topology.nodes) {
    table.push([
      node.name,
      `${node.host}:${node.port}`,
      node.reachable
        ? `${node.role ?? "?"}${node.loading ? " (loading)" : ""}`
        : stopped(node)
          ? "stopped"
          : "DOWN",
      linkText(node),
      node.offset?.toString() ?? "-",
      lagText(node, lagByName.get(node.name)),
      node.keys?.toString() ?? "-",
      lastSaveText(node.lastSaveTime, topology.observedAt),
      node.server ?? "-",
    ]);
  }
  const lines = [
    `Cluster ${topology.cluster} at ${new Date(topology.observedAt).toISOString()}`,
    table.toString(),
  ];
  for (const node of topology.nodes) {
    if (stopped(node)) {
      lines.push(`  ${node.name}: Redis not running (a spare, ready for --mode replace)`);
    } else if (!node.reachable) {
      lines.push(`  ${node.name}: ${node.error ?? "no answer"}`);
    }
  }
  if (assessment) {
    if (assessment.master) {
      lines.push(
        `Master: ${assessment.master.name ?? `${assessment.master.host}:${assessment.master.port}`} (${assessment.master.state})`,
      );
    }
    for (const line of assessment.evidence) lines.push(`  ${line}`);
    for (const problem of assessment.problems) lines.push(`PROBLEM: ${problem}`);
  }
  if (topology.sentinel) lines.push(...describeSentinels(topology.sentinel));
  return lines.join("\n");
}

function linkText(node: Topology["nodes"][number]): string {
  if (!node.reachable) return "-";
  if (node.role === "master") return `${node.replicas.length} replica(s)`;
  return roleText(node).replace(/^replica of /, "→ ");
}

function lagText(node: Topology["nodes"][number], lagFromMaster: number | undefined): string {
  if (node.role !== "replica") return "-";
  if (lagFromMaster !== undefined) return `${lagFromMaster} s`;
  const lastIo = node.master?.lastIoSecondsAgo;
  return lastIo !== undefined ? `${lastIo} s` : "-";
}

export function lastSaveText(lastSave: number | undefined, now: number): string {
  if (!lastSave) return "-";
  const seconds = Math.max(0, Math.round(now / 1000 - lastSave));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}
