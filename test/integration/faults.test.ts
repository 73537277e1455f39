import { access, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { processState } from "../harness/processes.js";
import { waitForReplicaSync } from "../harness/redis-server.js";
import {
  buildTopology,
  type Machine,
  type MachineSpec,
  type TestTopology,
} from "../harness/topology.js";
import { dbsize, info, lostMasterTopology, planOrThrow } from "./helpers.js";

let topology: TestTopology | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await topology?.close();
  topology = undefined;
});

/**
 * A directory holding a replacement for `tee` that the spare's SSH sessions find first on PATH:
 * when it writes a file (the copy's receiving side), `script` runs first, then the real tee.
 */
async function brokenTee(script: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), "rfb-test-bin-"));
  const tee = (await which("tee")) ?? "/usr/bin/tee";
  await writeFile(join(dir, "tee"), `#!/bin/sh\n${script.replaceAll("REAL_TEE", tee)}\n`, {
    mode: 0o755,
  });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return { PATH: `${dir}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` };
}

async function which(command: string): Promise<string | undefined> {
  for (const dir of ["/usr/bin", "/bin"]) {
    const path = join(dir, command);
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return undefined;
}

async function lostMaster(spare: Partial<MachineSpec>, data = { keys: 4_000, valueBytes: 2_048 }) {
  const lost = await lostMasterTopology(spare, { ...data, incompressible: true });
  topology = lost.topology;
  return { ...lost, engine: await topology.engine() };
}

/** B and C are as they were before the run: B a replica of the lost A with its data, C with nothing. */
async function expectUntouched(m: Record<string, Machine>, keys: number) {
  const b = await info(m["machine-b"]!);
  expect([b.role, b.master_host]).toEqual(["slave", m["machine-a"]!.ip]);
  expect(await dbsize(m["machine-b"]!)).toBe(keys);
  const files = await readdir(m["machine-c"]!.dir);
  expect(files.filter((file) => file.startsWith("dump.rdb"))).toEqual([]);
}

describe("faults during a replace (real processes)", () => {
  it("the SSH connection cut mid-copy: the copy fails cleanly, nothing was started or touched", async () => {
    // The spare writes slowly (about 4 MB/s), so the cut lands mid-copy.
    const env = await brokenTee(`python3 -c "
import sys, time
while True:
    chunk = sys.stdin.buffer.read(65536)
    if not chunk: break
    sys.stdout.buffer.write(chunk); sys.stdout.flush(); time.sleep(0.015)" | exec REAL_TEE "$@"`);
    const { m, keys, engine } = await lostMaster({ sshEnv: env });
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
    const copyIndex = plan.steps.findIndex((step) => step.spec.kind === "copy-rdb") + 1;
    let cut: Promise<number> | undefined;
    const result = await engine.execute(plan, {
      onEvent: (event) => {
        if (
          event.type === "step-output" &&
          event.index === copyIndex &&
          /copied/.test(event.text) &&
          !cut
        ) {
          cut = m["machine-c"]!.sshd!.killSessions();
        }
      },
    });
    expect(await cut).toBeGreaterThan(0);
    expect(result.failedStep?.title).toBe("Copy the snapshot from machine-b to machine-c");
    expect(result.failedStep?.error).toMatch(/copy|cut off|connection|machine-c/i);
    await expectUntouched(m, keys);
    expect(result.nextActions.join("\n")).toMatch(/machine-b was only read: it is unchanged/);
  });

  it("the copy target full (a file-size limit on the spare): detected, partial file removed, nothing touched", async () => {
    const env = await brokenTee('ulimit -f 2048; exec REAL_TEE "$@"');
    const { m, keys, engine } = await lostMaster({ sshEnv: env });
    const result = await engine.execute(
      await planOrThrow(engine, { cluster: "cache-test", mode: "replace" }),
    );
    expect(result.failedStep?.title).toBe("Copy the snapshot from machine-b to machine-c");
    expect(result.failedStep?.error).toMatch(/machine-c.*(signal|exited|size)/i);
    await expectUntouched(m, keys);
  });

  it("B unreachable mid-run (its Redis frozen): the snapshot step times out and the run stops with B as it was", async () => {
    const { m, keys, engine } = await lostMaster({}, { keys: 1_000, valueBytes: 16 });
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
    const b = m["machine-b"]!;
    const snapshotIndex = plan.steps.findIndex((step) => step.spec.kind === "snapshot") + 1;
    try {
      const result = await engine.execute(plan, {
        onEvent: (event) => {
          if (event.type === "step-started" && event.step.index === snapshotIndex)
            process.kill(b.server!.pid, "SIGSTOP");
        },
      });
      expect(result.failedStep?.index).toBe(snapshotIndex);
      expect(result.failedStep?.error).toMatch(/machine-b .*did not answer .* within 2000 ms/);
      expect(result.topologyAfter?.nodes.find((node) => node.name === "machine-b")?.reachable).toBe(
        false,
      );
      // Ended by the configured timeouts while B was still frozen, not by B coming back.
      expect(processState(b.server!.pid)).toBe("T");
    } finally {
      await b.server!.resume();
    }
    await expectUntouched(m, keys);
  });
});

describe("the journal is the gate", () => {
  it("a step whose start cannot be recorded does not run", async () => {
    topology = await buildTopology([
      { name: "machine-a", role: "master" },
      { name: "machine-b", role: "replica" },
    ]);
    const m = topology.machines as Record<string, Machine>;
    await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "switchover" });
    const result = await engine.execute(plan, {
      checkpoint: async (event) => {
        if (event.type === "step-started" && event.step.spec.kind === "switchover")
          throw new Error("ENOSPC: no space left on device");
      },
    });
    expect(result.failedStep?.error).toMatch(
      /cannot record the run in the journal \(ENOSPC: no space left on device\), so no further step runs/,
    );
    expect((await info(m["machine-a"]!)).role).toBe("master");
    expect((await info(m["machine-b"]!)).role).toBe("slave");
  });
});
