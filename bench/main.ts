import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { reapAll } from "../test/harness/processes.js";
import { stopAllSshd } from "../test/harness/sshd.js";
import { log, runScenarios, type Scenario } from "./lib.js";
import { ackLatency } from "./scenarios/ack-latency.js";
import { clickLane } from "./scenarios/click-lane.js";
import { copyVsScp } from "./scenarios/copy-vs-scp.js";
import { promoteHungMaster, promoteVsSentinel } from "./scenarios/promote-vs-sentinel.js";
import { replaceVsManual } from "./scenarios/replace-vs-manual.js";
import { shutdownTimes } from "./scenarios/shutdown.js";
import { switchoverWrites } from "./scenarios/switchover-writes.js";

/**
 * `npm run bench`: every figure is ours against a baseline measured in the same run on the
 * same loopback topology (machines here are shared and noisy; only ratios compare).
 * Each scenario runs on its own: a failure is recorded in the results with its reason, the
 * others still run, and bench/results/latest.json is always written (exit code 1 then).
 */
const quick = process.env.BENCH_QUICK === "1";
const runs = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3));
const only = process.env.BENCH_ONLY?.split(",");
const timeoutMs = 1000 * Number(process.env.BENCH_SCENARIO_TIMEOUT_S ?? (quick ? 300 : 3600));

// One line per scenario; `name` is what BENCH_ONLY selects.
const scenarios: Scenario[] = [
  ...(quick ? [7] : [7, 200, 1024]).map((dataMb) => ({
    name: "replace",
    run: () => replaceVsManual({ runs, dataMb }),
  })),
  {
    name: "copy",
    run: () => copyVsScp({ runs, fileMb: quick ? 64 : 512, smallMb: quick ? 8 : 64 }),
  },
  { name: "promote", run: () => promoteVsSentinel({ runs }) },
  { name: "hung", run: () => promoteHungMaster({ runs: quick ? 1 : Math.min(runs, 2) }) },
  { name: "switchover", run: () => switchoverWrites({ runs }) },
  { name: "ack", run: () => ackLatency({ requests: 200 }) },
  { name: "clicks", run: () => clickLane({ runs: quick ? 1 : 3, burst: 50 }) },
  { name: "shutdown", run: () => shutdownTimes({ runs: quick ? 1 : runs }) },
];

const started = Date.now();
const { measurements: results, failures } = await runScenarios(
  scenarios.filter((scenario) => !only || only.includes(scenario.name)),
  { timeoutMs },
);
// Whatever a failed or timed-out scenario left running.
await stopAllSshd().catch(() => undefined);
await reapAll().catch(() => undefined);

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const report = {
  date: new Date().toISOString(),
  machine,
  quick,
  durationMs: Date.now() - started,
  measurements: results,
  failures,
};
await mkdir("bench/results", { recursive: true });
await writeFile("bench/results/latest.json", `${JSON.stringify(report, null, 2)}\n`);

const rows = results.map((r) => [
  r.name,
  `${r.ours} ${r.unit}`,
  r.baselineFailed === undefined ? `${r.baseline} ${r.unit}` : "FAILED",
  r.baselineFailed === undefined ? String(r.ratio) : "-",
  String(r.runs),
  r.goal,
  r.met ? "met" : "NOT met",
]);
const header = ["measurement", "ours", "baseline", "ratio", "runs", "goal", ""];
const widths = header.map((h, i) =>
  Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)),
);
const line = (cells: string[]) =>
  `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
process.stdout.write(
  [
    `${report.date} on ${machine}${quick ? " (BENCH_QUICK)" : ""}`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...results.map((r) => `  ${r.name}: baseline = ${r.baselineIs}`),
    ...results.flatMap((r) =>
      r.baselineFailed === undefined ? [] : [`  ${r.name}: baseline FAILED: ${r.baselineFailed}`],
    ),
    ...failures.map((f) => `  scenario ${f.scenario} FAILED: ${f.reason}`),
    "",
  ].join("\n"),
);
log(`wrote bench/results/latest.json in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failures.length === 0 ? 0 : 1);
