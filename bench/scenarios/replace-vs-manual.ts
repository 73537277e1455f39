import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parse, stringify } from "yaml";
import { loadData, waitForReplicaSync } from "../../test/harness/redis-server.js";
import { buildTopology, type Machine } from "../../test/harness/topology.js";
import { log, type Measurement, measurement, run, timed } from "../lib.js";
import { resetReplace, waitForLink } from "./topology.js";

/**
 * Our `replace` (the CLI, --yes: preflight, snapshot, verified copy, start, verify, repoint,
 * fence, announce) against the book's procedure typed with the stock tools on the same data:
 * redis-cli SAVE, scp B→C, start Redis on C over ssh, redis-cli SLAVEOF. Both end when B
 * replicates from C (link up).
 */
export async function replaceVsManual(options: {
  runs: number;
  dataMb: number;
}): Promise<Measurement[]> {
  const topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare" },
  ]);
  try {
    const m = topology.machines as Record<string, Machine>;
    const [a, b, c] = [m["machine-a"], m["machine-b"], m["machine-c"]] as [
      Machine,
      Machine,
      Machine,
    ];
    const valueBytes = 4096;
    log(`replace_vs_manual: loading ${options.dataMb} MB`);
    await loadData(a.server as NonNullable<Machine["server"]>, {
      keys: Math.round((options.dataMb * 1024 * 1024) / valueBytes),
      valueBytes,
      incompressible: true,
    });
    await waitForReplicaSync(
      a.server as NonNullable<Machine["server"]>,
      b.server as NonNullable<Machine["server"]>,
      300_000,
    );
    await (a.server as NonNullable<Machine["server"]>).kill();
    await waitForLink(b, "down");
    const ours: number[] = [];
    const manual: number[] = [];
    const ourSessions: number[] = [];
    const manualSessions: number[] = [];
    const ourRounds: number[] = [];
    const manualRounds: number[] = [];
    const ourCopy: number[] = [];
    const manualCopy: number[] = [];
    // Remote commands (SSH sessions) on B and C, counted by their sshds.
    const sessions = () => [a, b, c].reduce((sum, x) => sum + (x.sshd?.sessions() ?? 0), 0);
    // The same cluster with `copy: direct` (B runs ssh to C with the bench's key and known_hosts).
    const directInventory = join(topology.root, "inventory-direct.yml");
    const inventory = parse(await readFile(topology.inventoryPath, "utf8"));
    for (const cluster of Object.values(inventory.clusters) as Array<Record<string, unknown>>) {
      cluster.copy = {
        mode: "direct",
        identityFile: c.sshd?.privateKeyFile,
        knownHostsFile: topology.knownHostsPath,
      };
    }
    await writeFile(directInventory, stringify(inventory));
    const modes = [
      {
        mode: "relay",
        inventory: topology.inventoryPath,
        ms: ours,
        sessions: ourSessions,
        rounds: ourRounds,
        copy: ourCopy,
        rss: [] as number[],
      },
      {
        mode: "direct",
        inventory: directInventory,
        ms: [] as number[],
        sessions: [] as number[],
        rounds: [] as number[],
        copy: [] as number[],
        rss: [] as number[],
      },
    ];
    for (let i = 0; i < options.runs; i++) {
      for (const mode of modes) {
        const before = sessions();
        let profile: Profile = {
          text: "",
          copyMs: Number.NaN,
          peakRssMb: Number.NaN,
          rounds: Number.NaN,
        };
        mode.ms.push(
          await timed(async () => {
            profile = await cli(mode.inventory, join(topology.root, "bench-state"), sessions);
          }),
        );
        mode.sessions.push(sessions() - before);
        mode.rounds.push(profile.rounds);
        mode.copy.push(profile.copyMs);
        mode.rss.push(profile.peakRssMb);
        log(
          `replace_vs_manual run ${i + 1}: ours (copy: ${mode.mode}) ${Math.round(mode.ms.at(-1) as number)} ms, ${mode.sessions.at(-1)} SSH sessions in ${mode.rounds.at(-1)} sequential rounds, peak RSS ${Math.round(profile.peakRssMb)} MB (ms: ${profile.text})`,
        );
        await resetReplace(a, b, c);
      }
      const before = sessions();
      let phases: Record<string, number> = {};
      let rounds = Number.NaN;
      manual.push(
        await timed(async () => {
          ({ phases, rounds } = await bookProcedure(topology.knownHostsPath, b, c, sessions));
        }),
      );
      manualSessions.push(sessions() - before);
      manualRounds.push(rounds);
      manualCopy.push(phases.scp ?? Number.NaN);
      log(
        `replace_vs_manual run ${i + 1}: manual ${Math.round(manual.at(-1) as number)} ms, ${manualSessions.at(-1)} SSH sessions in ${manualRounds.at(-1)} sequential rounds (ms: ${Object.entries(
          phases,
        )
          .map(([name, ms]) => `${name} ${Math.round(ms)}`)
          .join(", ")})`,
      );
      await resetReplace(a, b, c);
    }
    return [
      measurement(`replace_vs_manual_${options.dataMb}mb`, ours, manual, "ms", {
        baselineIs: `SAVE + scp + start + SLAVEOF (${options.dataMb} MB)`,
        goal: "ratio ≤ 1.0",
        met: (_o, _b, ratio) => ratio <= 1,
      }),
      measurement(
        `replace_ssh_sessions_${options.dataMb}mb`,
        ourSessions,
        manualSessions,
        "sessions",
        {
          baselineIs: "scp + ssh start (the stock procedure's SSH sessions)",
          goal: "informational: preflight probes of B and C, the copy (which starts Redis on C after the install)",
          met: () => true,
        },
      ),
      measurement(`replace_ssh_rounds_${options.dataMb}mb`, ourRounds, manualRounds, "rounds", {
        baselineIs: "scp, then ssh start (the stock procedure's sequential SSH rounds)",
        goal: "informational: phases (preflight, steps) that opened SSH sessions, one after another",
        met: () => true,
      }),
      measurement(`replace_copy_step_vs_scp_${options.dataMb}mb`, ourCopy, manualCopy, "ms", {
        baselineIs: `the stock procedure's scp B→C of the same snapshot (${options.dataMb} MB)`,
        goal: "informational: the copy step (hashes, structure check, install) against bare scp",
        met: () => true,
      }),
      ...directRows(
        modes[1] as (typeof modes)[number],
        manual,
        manualSessions,
        manualRounds,
        options.dataMb,
      ),
      ...modes.map((mode) =>
        measurement(
          `replace_peak_rss_mb_${mode.mode}_${options.dataMb}mb`,
          mode.rss,
          mode.rss.map(() => 150),
          "MB",
          {
            baselineIs: "the 150 MB bound",
            goal: "< 150 MB at every snapshot size (compare sizes: flat)",
            met: (ours) => ours < 150,
          },
        ),
      ),
    ];
  } finally {
    await topology.close();
  }
}

/** The same three figures for `copy: direct`. */
function directRows(
  direct: { ms: number[]; sessions: number[]; rounds: number[] },
  manual: number[],
  manualSessions: number[],
  manualRounds: number[],
  dataMb: number,
): Measurement[] {
  return [
    measurement(`replace_direct_vs_manual_${dataMb}mb`, direct.ms, manual, "ms", {
      baselineIs: `SAVE + scp + start + SLAVEOF (${dataMb} MB)`,
      goal: "ratio ≤ 1.0",
      met: (_o, _b, ratio) => ratio <= 1,
    }),
    measurement(
      `replace_direct_ssh_sessions_${dataMb}mb`,
      direct.sessions,
      manualSessions,
      "sessions",
      {
        baselineIs: "scp + ssh start (the stock procedure's SSH sessions)",
        goal: "informational: preflight probes of B and C, the copy (B's, and B's ssh to C, which starts Redis on C after the install)",
        met: () => true,
      },
    ),
    measurement(`replace_direct_ssh_rounds_${dataMb}mb`, direct.rounds, manualRounds, "rounds", {
      baselineIs: "scp, then ssh start (the stock procedure's sequential SSH rounds)",
      goal: "informational: phases (preflight, steps) that opened SSH sessions, one after another",
      met: () => true,
    }),
  ];
}

interface Profile {
  /** Where the time went: until the plan line (start-up, preflight), then each step's duration. */
  text: string;
  copyMs: number;
  /** The CLI process's peak RSS (NaN without GNU time). */
  peakRssMb: number;
  /** Phases (preflight until the plan line, then each step) that opened SSH sessions. */
  rounds: number;
}

const GNU_TIME = "/usr/bin/time";
const RSS_LABEL = "rfb-peak-rss-kb";

/** Runs the CLI and reads its JSON lines as they come, for the profile. */
async function cli(inventory: string, stateDir: string, sessions: () => number): Promise<Profile> {
  const started = performance.now();
  const args = [
    process.execPath,
    "bin/redis-failover.js",
    "failover",
    "cache-test",
    "--mode",
    "replace",
    "--yes",
    "--json",
    "--inventory",
    inventory,
  ];
  // GNU time reports the CLI's peak resident memory (maximum RSS, in KiB) when it exits.
  const measured = existsSync(GNU_TIME) ? [GNU_TIME, "-f", `${RSS_LABEL} %M`, ...args] : args;
  const child = spawn(measured[0] as string, measured.slice(1), {
    env: { ...process.env, STATE_DIR: stateDir, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const parts: string[] = [];
  let copyMs = Number.NaN;
  // A phase's sessions run at once (parallel probes, the copy's two sides): one round each.
  let rounds = 0;
  let seen = sessions();
  const phaseEnded = () => {
    const now = sessions();
    if (now > seen) rounds++;
    seen = now;
  };
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-4096);
  });
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    try {
      const event = JSON.parse(line) as {
        type?: string;
        status?: string;
        title?: string;
        durationMs?: number;
      };
      if (event.type === "plan") {
        parts.push(`plan ${Math.round(performance.now() - started)}`);
        phaseEnded();
      }
      if (event.type === "step" && event.status !== "running") {
        phaseEnded();
        const word = (event.title ?? "?").split(" ")[0] ?? "?";
        parts.push(`${word} ${event.durationMs}`);
        if (word === "Copy") copyMs = event.durationMs ?? Number.NaN;
      }
    } catch {
      // not a JSON line
    }
  });
  // "close": every line of output has been read, not only the process gone.
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`replace exited with ${code}: ${stderr.trim()}`);
  const rssKb = new RegExp(`${RSS_LABEL} (\\d+)`).exec(stderr)?.[1];
  return {
    text: parts.join(", "),
    copyMs,
    peakRssMb: rssKb === undefined ? Number.NaN : Number(rssKb) / 1024,
    rounds,
  };
}

/** The stock procedure; returns each phase's time (ms), for the profile, and its SSH rounds. */
async function bookProcedure(
  knownHosts: string,
  b: Machine,
  c: Machine,
  sessions: () => number,
): Promise<{ phases: Record<string, number>; rounds: number }> {
  const sshd = c.sshd as NonNullable<Machine["sshd"]>;
  const ssh = [
    "-i",
    sshd.privateKeyFile,
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "BatchMode=yes",
  ];
  const phases: Record<string, number> = {};
  let rounds = 0;
  let seen = sessions();
  const phaseEnded = () => {
    const now = sessions();
    if (now > seen) rounds++;
    seen = now;
  };
  phases.save = await timed(() => run("redis-cli", ["-h", b.ip, "-p", String(b.port), "SAVE"]));
  phases.scp = await timed(() =>
    run("scp", [
      "-q",
      ...ssh,
      "-P",
      String(sshd.port),
      join(b.dir, "dump.rdb"),
      `root@${c.ip}:${join(c.dir, "dump.rdb")}`,
    ]),
  );
  phaseEnded();
  phases.start = await timed(() =>
    run("ssh", [...ssh, "-p", String(sshd.port), `root@${c.ip}`, `redis-server ${c.configFile}`]),
  );
  phaseEnded();
  phases.repoint = await timed(async () => {
    await run("redis-cli", ["-h", b.ip, "-p", String(b.port), "SLAVEOF", c.ip, String(c.port)]);
    await waitForLink(b, "up");
  });
  return { phases, rounds };
}
