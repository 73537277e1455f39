import { rm } from "node:fs/promises";
import { join } from "node:path";
import { buildTopology, type Machine } from "../../test/harness/topology.js";
import { log, type Measurement, measurement, run, timed } from "../lib.js";

interface CopyReport {
  bytes: number;
  durationMs: number;
  peakRssMb: number;
}

/**
 * Snapshot copy B→C relayed through the bot (what `replace` does by default), and direct over
 * ssh run on B (`copy: direct`), against scp of the same file between the same hosts; and the bot's peak memory during a large copy against a small one
 * (the same figure for both means memory does not grow with the file).
 */
export async function copyVsScp(options: {
  runs: number;
  fileMb: number;
  smallMb: number;
}): Promise<Measurement[]> {
  const topology = await buildTopology([
    { name: "machine-b", role: "spare" },
    { name: "machine-c", role: "spare" },
  ]);
  try {
    const m = topology.machines as Record<string, Machine>;
    const [b, c] = [m["machine-b"], m["machine-c"]] as [Machine, Machine];
    const big = join(b.dir, "big.rdb");
    const small = join(b.dir, "small.rdb");
    await run("sh", [
      "-c",
      `head -c ${options.fileMb}M /dev/urandom > '${big}' && head -c ${options.smallMb}M /dev/urandom > '${small}'`,
    ]);
    const relayRates: number[] = [];
    const directRates: number[] = [];
    const directRss: number[] = [];
    const scpRates: number[] = [];
    const bigRss: number[] = [];
    const smallRss: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      const ours = await relayCopy(topology.knownHostsPath, b, c, big);
      relayRates.push(ours.bytes / 1048576 / (ours.durationMs / 1000));
      bigRss.push(ours.peakRssMb);
      await removeCopies(c);
      smallRss.push((await relayCopy(topology.knownHostsPath, b, c, small)).peakRssMb);
      await removeCopies(c);
      const direct = await relayCopy(topology.knownHostsPath, b, c, big, "direct");
      directRates.push(direct.bytes / 1048576 / (direct.durationMs / 1000));
      directRss.push(direct.peakRssMb);
      await removeCopies(c);
      const scpMs = await timed(() => scp(topology.knownHostsPath, c, big));
      scpRates.push(options.fileMb / (scpMs / 1000));
      log(
        `copy run ${i + 1}: relay ${relayRates.at(-1)?.toFixed(0)} MiB/s (peak RSS ${bigRss.at(-1)?.toFixed(0)} MB), direct ${directRates.at(-1)?.toFixed(0)} MiB/s (peak RSS ${directRss.at(-1)?.toFixed(0)} MB), scp ${scpRates.at(-1)?.toFixed(0)} MiB/s`,
      );
    }
    return [
      measurement("copy_vs_scp", relayRates, scpRates, "MiB/s", {
        baselineIs: `scp B→C, ${options.fileMb} MB`,
        goal: "ratio ≥ 0.9 (higher is better)",
        met: (_o, _b, ratio) => ratio >= 0.9,
      }),
      measurement("copy_direct_vs_scp", directRates, scpRates, "MiB/s", {
        baselineIs: `scp B→C, ${options.fileMb} MB`,
        goal: "ratio ≥ 1.0 (higher is better)",
        met: (_o, _b, ratio) => ratio >= 1,
      }),
      measurement("copy_peak_rss_mb", bigRss, smallRss, "MB", {
        baselineIs: `same copy of ${options.smallMb} MB`,
        goal: `< 150 MB, flat (ratio ≈ 1) for ${options.fileMb} MB`,
        met: (ours, _b, ratio) => ours < 150 && ratio < 1.2,
      }),
    ];
  } finally {
    await topology.close();
  }
}

async function relayCopy(
  knownHosts: string,
  b: Machine,
  c: Machine,
  source: string,
  mode: "relay" | "direct" = "relay",
): Promise<CopyReport> {
  const side = (machine: Machine) => ({
    name: machine.name,
    host: machine.ip,
    port: (machine.sshd as NonNullable<Machine["sshd"]>).port,
  });
  const job = {
    from: side(b),
    to: side(c),
    key: (b.sshd as NonNullable<Machine["sshd"]>).privateKeyFile,
    knownHosts,
    source,
    target: join(c.dir, "copy.rdb"),
    mode,
  };
  const { stdout } = await run(process.execPath, ["bench/copy-worker.mjs", JSON.stringify(job)]);
  return JSON.parse(stdout) as CopyReport;
}

async function removeCopies(c: Machine): Promise<void> {
  await rm(join(c.dir, "copy.rdb"), { force: true });
  await rm(join(c.dir, "copy.rdb.before"), { force: true });
}

async function scp(knownHosts: string, c: Machine, source: string): Promise<void> {
  const sshd = c.sshd as NonNullable<Machine["sshd"]>;
  await run("scp", [
    "-q",
    "-i",
    sshd.privateKeyFile,
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-P",
    String(sshd.port),
    source,
    `root@${c.ip}:${join(c.dir, "scp.rdb")}`,
  ]);
}
