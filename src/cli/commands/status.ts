import type { FailoverEngine } from "../../engine/engine.js";
import { errorMessage } from "../../errors.js";
import type { WatchHistory } from "../../state/watches.js";
import { type CliIo, write } from "../io.js";
import { renderTopologyTable } from "../render/topology-table.js";
import { watchLine, watchText } from "../render/watch-text.js";

export async function statusCommand(
  engine: FailoverEngine,
  cluster: string,
  options: { json?: boolean },
  io: CliIo,
  /** The cluster's open watches, from the journal. */
  watches?: () => Promise<WatchHistory[]>,
): Promise<number> {
  // The servers are shown even when the journal cannot be read (status is what an operator
  // runs when things are broken): the watches are then left out, and stderr says why. Read
  // alongside the servers, so an unreachable state Redis adds no wait of its own.
  engine.cluster(cluster);
  const reading = watches?.().catch((error: unknown) => {
    write(io.stderr, `watches: the journal could not be read: ${errorMessage(error)}`);
    return undefined;
  });
  const { topology, assessment } = await engine.status(cluster);
  const open = await reading;
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
        ...(open ? { watches: open.map(watchLine) } : {}),
      }),
    );
  } else {
    write(io.stdout, renderTopologyTable(topology, assessment));
    for (const watch of open ?? []) write(io.stdout, watchText(watch));
  }
  return 0;
}
