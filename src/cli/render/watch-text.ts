import type { WatchHistory } from "../../state/watches.js";

/** An open watch as a `--json` line: an old master a run could not fence, not fenced yet. */
export function watchLine(watch: WatchHistory) {
  return {
    type: "watch",
    runId: watch.runId,
    cluster: watch.cluster,
    host: watch.host.name,
    newMaster: watch.newMaster.name,
    since: watch.startedAt,
    answering: watch.answering,
    returns: watch.returns,
  };
}

export function watchText(watch: WatchHistory): string {
  const since = new Date(watch.startedAt).toISOString().replace("T", " ").slice(0, 19);
  const now = watch.answering
    ? `it answers again and is NOT fenced: run redis-failover fence ${watch.cluster} --host ${watch.host.name}`
    : "it does not answer yet";
  return `Watching ${watch.host.name} since ${since} UTC (run ${watch.runId} could not fence it): ${now}.`;
}
