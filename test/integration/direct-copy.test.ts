import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { Machine, TestTopology } from "../harness/topology.js";
import { dbsize, info, lostMasterTopology, planOrThrow, recordEvents } from "./helpers.js";

/**
 * `copy: direct` against real sshds on loopback: B runs OpenSSH to reach C with B's key for C
 * and C's host key pinned in a known_hosts file on B (here the machines share a filesystem).
 */

const execFileAsync = promisify(execFile);
let topology: TestTopology | undefined;
afterEach(async () => {
  await topology?.close();
  topology = undefined;
});

async function withDirectCopy(copy: {
  identityFile: (c: Machine) => string;
  knownHostsFile: (topology: TestTopology, c: Machine) => Promise<string>;
}) {
  const built = await lostMasterTopology();
  topology = built.topology;
  const { m, keys } = built;
  const [b, c] = [m["machine-b"], m["machine-c"]] as [Machine, Machine];
  const inventory = parse(await readFile(topology.inventoryPath, "utf8"));
  inventory.clusters["cache-test"].copy = {
    mode: "direct",
    identityFile: copy.identityFile(c),
    knownHostsFile: await copy.knownHostsFile(topology, c),
  };
  await writeFile(topology.inventoryPath, stringify(inventory));
  return { topology, b, c, keys };
}

/** B, A and C as the failed copy must leave them: B still A's replica with every key, C empty. */
async function expectNothingChanged(b: Machine, c: Machine, keys: number, aIp: string | undefined) {
  const bInfo = await info(b);
  expect([bInfo.role, bInfo.master_host]).toEqual(["slave", aIp]);
  expect(await dbsize(b)).toBe(keys);
  const files = await readdir(c.dir);
  expect(files).not.toContain("dump.rdb");
  expect(files.filter((file) => file.includes(".partial"))).toEqual([]);
}

describe("copy: direct", () => {
  it("streams B → C over ssh from B with C's pinned host key, with every check, and C takes over", async () => {
    const { topology, b, c, keys } = await withDirectCopy({
      identityFile: (c) => c.sshd?.privateKeyFile as string,
      knownHostsFile: async (topology) => topology.knownHostsPath,
    });
    const engine = await topology.engine();
    const plan = await planOrThrow(engine, { cluster: "cache-test", mode: "replace" });
    const copyStep = plan.steps.find((step) => step.spec.kind === "copy-rdb");
    // The plan shows the one command B runs, with the one C runs inside it (which starts
    // Redis only after the install), then the bot's PING of C and that batched start spelled out.
    expect(copyStep?.commands).toHaveLength(3);
    expect(copyStep?.commands[0]).toMatch(
      /^\[machine-b\] \$ .*\| \{ ssh .*StrictHostKeyChecking=yes/,
    );
    expect(copyStep?.commands[0]).toContain("IFS= read -r size");
    expect(copyStep?.commands[0]).toContain("echo installed && {");
    expect(copyStep?.commands[1]).toMatch(/^\[machine-c\] redis> PING/);
    expect(copyStep?.commands[2]).toMatch(/^\[machine-c\] … then, only after install, /);
    const recorded = recordEvents();
    const result = await engine.execute(plan, { onEvent: recorded.onEvent });

    expect(result.failedStep).toBeUndefined();
    expect(result.ok).toBe(true);
    expect((await info(c)).role).toBe("master");
    expect(await dbsize(c)).toBe(keys);
    const bInfo = await info(b);
    expect([bInfo.role, bInfo.master_host, bInfo.master_link_status]).toEqual([
      "slave",
      c.ip,
      "up",
    ]);
    expect(await dbsize(b)).toBe(keys);
    const output = recorded.output(plan.steps.indexOf(copyStep as never) + 1);
    expect(output).toMatch(/directly \(copy: direct/);
    expect(output).toMatch(
      /SHA-256 matches on machine-b and on machine-c; sizes match; redis-check-rdb accepted it/,
    );
    expect(output).toMatch(/^ {2}tee 0$/m);
    expect(output).toMatch(/^ {2}check 0$/m);
    expect(output).toMatch(/^ {2}installed$/m);
    expect((await readdir(c.dir)).filter((file) => file.includes(".partial"))).toEqual([]);
  });

  it("refuses a C whose host key is not the pinned one: nothing installed, every server as it was", async () => {
    const { topology, b, c, keys } = await withDirectCopy({
      identityFile: (c) => c.sshd?.privateKeyFile as string,
      knownHostsFile: async (topology, c) => {
        // C's address pinned to another key.
        const other = join(topology.root, "other-key");
        await execFileAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
        const otherKey = (await readFile(`${other}.pub`, "utf8")).trim().split(" ").slice(0, 2);
        const address = String(c.sshd?.knownHostsLine).split(" ")[0];
        const file = join(topology.root, "wrong_known_hosts");
        await writeFile(file, `${address} ${otherKey.join(" ")}\n`);
        return file;
      },
    });
    const engine = await topology.engine();
    const result = await engine.execute(
      await planOrThrow(engine, { cluster: "cache-test", mode: "replace" }),
    );

    expect(result.failedStep?.title).toBe("Copy the snapshot from machine-b to machine-c");
    expect(result.failedStep?.error).toMatch(/direct copy from machine-b to machine-c failed/);
    expect(result.failedStep?.error).toMatch(
      /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/,
    );
    expect(result.failedStep?.error).toMatch(/nothing was installed on machine-c/);
    await expectNothingChanged(b, c, keys, topology.machines["machine-a"]?.ip);
    expect((await info(c).catch(() => undefined))?.role).toBeUndefined();
  });

  it("refuses a missing identity file at preflight with a clear error: nothing runs, every server as it was", async () => {
    const { topology, b, c, keys } = await withDirectCopy({
      identityFile: () => "/nonexistent/rfb-direct-copy/id_ed25519",
      knownHostsFile: async (topology) => topology.knownHostsPath,
    });
    const engine = await topology.engine();
    const outcome = await engine.plan({ cluster: "cache-test", mode: "replace" });

    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.refusal.reason).toBe(
      "copy: direct: the identityFile /nonexistent/rfb-direct-copy/id_ed25519 is missing or unreadable on machine-b",
    );
    expect(outcome.refusal.advice).toMatch(/machine-b's private key for machine-c/);
    await expectNothingChanged(b, c, keys, topology.machines["machine-a"]?.ip);
  });
});
