import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { log, type Measurement } from "./lib.js";
import { ackLatency } from "./scenarios/ack-latency.js";
import { copyVsScp } from "./scenarios/copy-vs-scp.js";
import { promoteVsSentinel } from "./scenarios/promote-vs-sentinel.js";
import { replaceVsManual } from "./scenarios/replace-vs-manual.js";
import { shutdownTimes } from "./scenarios/shutdown.js";
import { switchoverWrites } from "./scenarios/switchover-writes.js";

/**
 * `npm run bench`: every figure is ours against a baseline measured in the same run on the
 * same loopback topology (machines here are shared and noisy; only ratios compare).
 */
const quick = process.env.BENCH_QUICK === "1";
const runs = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3));
const only = process.env.BENCH_ONLY?.split(",");
const want = (name: string) => !only || only.includes(name);

const results: Measurement[] = [];
const started = Date.now();
if (want("replace")) results.push(await replaceVsManual({ runs, dataMb: quick ? 32 : 300 }));
if (want("copy"))
  results.push(...(await copyVsScp({ runs, fileMb: quick ? 64 : 512, smallMb: quick ? 8 : 64 })));
if (want("promote")) results.push(await promoteVsSentinel({ runs }));
if (want("switchover")) results.push(...(await switchoverWrites({ runs })));
if (want("ack")) results.push(await ackLatency({ requests: 200 }));
if (want("shutdown")) results.push(...(await shutdownTimes({ runs: quick ? 1 : runs })));

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const report = {
  date: new Date().toISOString(),
  machine,
  quick,
  durationMs: Date.now() - started,
  measurements: results,
};
await mkdir("bench/results", { recursive: true });
await writeFile("bench/results/latest.json", `${JSON.stringify(report, null, 2)}\n`);

const rows = results.map((r) => [
  r.name,
  `${r.ours} ${r.unit}`,
  `${r.baseline} ${r.unit}`,
  String(r.ratio),
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
    "",
  ].join("\n"),
);
log(`wrote bench/results/latest.json in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(0);
