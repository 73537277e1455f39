import { join } from "node:path";
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
    // Remote commands (SSH sessions) on B and C, counted by their sshds.
    const sessions = () => [a, b, c].reduce((sum, x) => sum + (x.sshd?.sessions() ?? 0), 0);
    for (let i = 0; i < options.runs; i++) {
      let before = sessions();
      ours.push(await timed(() => cli(topology.inventoryPath, join(topology.root, "bench-state"))));
      ourSessions.push(sessions() - before);
      log(
        `replace_vs_manual run ${i + 1}: ours ${Math.round(ours.at(-1) as number)} ms, ${ourSessions.at(-1)} SSH sessions`,
      );
      await resetReplace(a, b, c);
      before = sessions();
      manual.push(await timed(() => bookProcedure(topology.knownHostsPath, b, c)));
      manualSessions.push(sessions() - before);
      log(
        `replace_vs_manual run ${i + 1}: manual ${Math.round(manual.at(-1) as number)} ms, ${manualSessions.at(-1)} SSH sessions`,
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
          goal: "informational: preflight probes, the copy, the start",
          met: () => true,
        },
      ),
    ];
  } finally {
    await topology.close();
  }
}

async function cli(inventory: string, stateDir: string): Promise<void> {
  await run(
    process.execPath,
    [
      "bin/redis-failover.js",
      "failover",
      "cache-test",
      "--mode",
      "replace",
      "--yes",
      "--json",
      "--inventory",
      inventory,
    ],
    {
      env: { ...process.env, STATE_DIR: stateDir, LOG_LEVEL: "warn" },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

async function bookProcedure(knownHosts: string, b: Machine, c: Machine): Promise<void> {
  const sshd = c.sshd as NonNullable<Machine["sshd"]>;
  const ssh = [
    "-i",
    sshd.privateKeyFile,
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "BatchMode=yes",
  ];
  await run("redis-cli", ["-h", b.ip, "-p", String(b.port), "SAVE"]);
  await run("scp", [
    "-q",
    ...ssh,
    "-P",
    String(sshd.port),
    join(b.dir, "dump.rdb"),
    `root@${c.ip}:${join(c.dir, "dump.rdb")}`,
  ]);
  await run("ssh", [
    ...ssh,
    "-p",
    String(sshd.port),
    `root@${c.ip}`,
    `redis-server ${c.configFile}`,
  ]);
  await run("redis-cli", ["-h", b.ip, "-p", String(b.port), "SLAVEOF", c.ip, String(c.port)]);
  await waitForLink(b, "up");
}
