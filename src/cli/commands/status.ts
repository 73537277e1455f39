import type { FailoverEngine } from "../../engine/engine.js";
import { type CliIo, write } from "../io.js";
import { renderTopologyTable } from "../render/topology-table.js";

export async function statusCommand(
  engine: FailoverEngine,
  cluster: string,
  options: { json?: boolean },
  io: CliIo,
): Promise<number> {
  const { topology, assessment } = await engine.status(cluster);
  if (options.json) {
    write(
      io.stdout,
      JSON.stringify({
        type: "status",
        cluster,
        observedAt: topology.observedAt,
        nodes: topology.nodes,
        assessment,
        ...(topology.sentinel ? { sentinel: topology.sentinel } : {}),
      }),
    );
  } else {
    write(io.stdout, renderTopologyTable(topology, assessment));
  }
  return 0;
}
