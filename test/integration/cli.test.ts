import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadData, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { info, runCliCaptured, waitForLinkDown } from "./helpers.js";

function cli(
  args: string[],
  options: { interactive?: boolean; stdin?: string; env?: NodeJS.ProcessEnv } = {},
) {
  // The journal and locks live in the topology's temp dir, never in the repository.
  return runCliCaptured(args, {
    ...options,
    env: options.env ?? { STATE_DIR: `${topology.root}/cli-state` },
  });
}

let topology: TestTopology;
let inventory: string;
beforeAll(async () => {
  topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare" },
  ]);
  inventory = topology.inventoryPath;
  const m = topology.machines as Record<string, Machine>;
  await loadData(m["machine-a"]!.server!, { keys: 2_000, valueBytes: 16 });
  await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
});
afterAll(async () => {
  await topology?.close();
});

describe("CLI usage errors exit 2 and change nothing", () => {
  it.each([
    [
      ["failover", "no-such-cluster", "--dry-run", "--inventory", "INV"],
      /unknown cluster "no-such-cluster"; the inventory .* defines: cache-test/,
    ],
    [
      ["failover", "cache-test", "--mode", "sideways", "--inventory", "INV"],
      /option '--mode <mode>' argument 'sideways' is invalid. Allowed choices are replace, promote, switchover/,
    ],
    [
      ["failover", "cache-test", "--inventory", "INV", "--spare"],
      /option '--spare <host>' argument missing/,
    ],
    [
      ["failover", "cache-test", "--frobnicate", "--inventory", "INV"],
      /unknown option '--frobnicate'/,
    ],
    [["failover", "cache-test", "stray", "--inventory", "INV"], /too many arguments/],
    [["status", "--inventory", "INV"], /missing required argument 'cluster'/],
    [
      ["status", "cache-test", "--inventory", "/nonexistent/inventory.yml"],
      /cannot read inventory \/nonexistent\/inventory.yml: no such file/,
    ],
    [["failover", "cache-test", "--inventory", "INV"], /refusing to act without a terminal.*--yes/],
  ])("%j", async (args, message) => {
    const result = await cli(args.map((arg) => (arg === "INV" ? inventory : arg)));
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
    expect((await info((topology.machines as Record<string, Machine>)["machine-a"]!)).role).toBe(
      "master",
    );
  });

  it("names the bad field of an invalid inventory", async () => {
    const broken = `${topology.root}/broken.yml`;
    await writeFile(
      broken,
      (await readFile(inventory, "utf8")).replace(/port: (\d+)\n(\s+)ssh:/, 'port: "six"\n$2ssh:'),
    );
    const result = await cli(["status", "cache-test", "--inventory", broken]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /clusters\.cache-test\.hosts\.machine-a\.redis\.port: Invalid input: expected number/,
    );
  });
});

describe("CLI against a real topology", () => {
  it("status prints the topology table", async () => {
    const result = await cli(["status", "cache-test", "--inventory", inventory]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/machine-a .*│ master .*│ 1 replica\(s\)/);
    expect(result.stdout).toMatch(/machine-b .*│ replica .*│ → machine-a, link up/);
    expect(result.stdout).toMatch(/machine-c .*│ stopped/);
    expect(result.stdout).toMatch(/machine-a .*│ Redis \d+\.\d+\.\d+ +│/);
    expect(result.stdout).toMatch(
      /machine-c: Redis not running \(a spare, ready for --mode replace\)/,
    );
    expect(result.stdout).not.toMatch(/is redis-server running/);
  });

  it("--dry-run --json prints the plan as one JSON line and changes nothing", async () => {
    const result = await cli([
      "failover",
      "cache-test",
      "--dry-run",
      "--json",
      "--inventory",
      inventory,
    ]);
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      type: "plan",
      mode: "switchover",
      newMaster: { name: "machine-b" },
    });
    expect(lines[0].steps.map((step: { index: number }) => step.index)).toEqual([1, 2, 3, 4]);
  });

  it("asks to type the cluster name on a terminal and cancels on anything else", async () => {
    const result = await cli(["failover", "cache-test", "--inventory", inventory], {
      interactive: true,
      stdin: "yes\n",
    });
    expect(result.stdout).toMatch(/Type the cluster name \(cache-test\)/);
    expect(result.stderr).toMatch(/Cancelled: nothing was changed/);
    expect(result.code).toBe(1);
  });

  it("refuses replace while the master answers, with exit 1 and the recommended mode in JSON", async () => {
    const result = await cli([
      "failover",
      "cache-test",
      "--mode",
      "replace",
      "--yes",
      "--json",
      "--inventory",
      inventory,
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({
      type: "result",
      ok: false,
      newMaster: null,
      refused: { recommendedMode: "switchover" },
    });
  });

  it("runs a failover with --yes --json: plan, step lines for every step, then the result (exit 0)", async () => {
    const m = topology.machines as Record<string, Machine>;
    await m["machine-a"]!.server!.kill();
    await waitForLinkDown(m["machine-b"]!);
    const result = await cli([
      "failover",
      "cache-test",
      "--mode",
      "replace",
      "--yes",
      "--json",
      "--inventory",
      inventory,
    ]);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines[0].type).toBe("plan");
    const steps = lines.filter((line) => line.type === "step");
    const planned = lines[0].steps.length;
    expect(steps.filter((line) => line.status === "running")).toHaveLength(planned);
    expect(steps.filter((line) => line.status === "ok").map((line) => line.index)).toEqual(
      Array.from({ length: planned }, (_, i) => i + 1),
    );
    for (const step of steps)
      expect(Object.keys(step)).toEqual(
        expect.arrayContaining(["index", "title", "status", "output", "durationMs"]),
      );
    const last = lines.at(-1);
    expect(last).toMatchObject({
      type: "result",
      ok: true,
      newMaster: { host: m["machine-c"]!.ip, port: m["machine-c"]!.port },
    });
    expect(result.code).toBe(0);
  });
});

describe("the installed binary", () => {
  it("runs through bin/redis-failover.js with the documented exit code", async () => {
    const run = promisify(execFile);
    const failure = await run("node", [
      "bin/redis-failover.js",
      "status",
      "nope",
      "--inventory",
      inventory,
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(/unknown cluster "nope"/);
  });
});

describe("CLI journal commands", () => {
  it("history lists the run the CLI just made, with requester, approver, mode, outcome and duration", async () => {
    const result = await cli(["history", "cache-test", "--json", "--inventory", inventory]);
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(rows[0]).toMatchObject({
      type: "run",
      mode: "replace",
      outcome: "succeeded",
      newMaster: "machine-c",
    });
    expect(rows[0].requester).toMatch(/^cli:.+@.+/);
    expect(rows[0].approver).toBe(rows[0].requester);
    expect(rows[0].durationMs).toBeGreaterThan(0);
    const table = await cli(["history", "cache-test", "--inventory", inventory]);
    expect(table.stdout).toMatch(/replace .*│ succeeded → machine-c/);
  });

  it("audit prints the journal as JSON lines, filtered by --since", async () => {
    const all = await cli(["audit", "--inventory", inventory]);
    const records = all.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records.map((record) => record.type)).toEqual(
      expect.arrayContaining([
        "requested",
        "decided",
        "run-started",
        "step-started",
        "step-finished",
        "run-finished",
      ]),
    );
    const future = await cli(["audit", "--since", "2999-01-01", "--inventory", inventory]);
    expect(future.stdout).toBe("");
    const bad = await cli(["audit", "--since", "yesterday-ish", "--inventory", inventory]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since "yesterday-ish" is not a date/);
  });
});
