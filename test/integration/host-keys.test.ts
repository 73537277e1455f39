import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadData, waitForReplicaSync } from "../harness/redis-server.js";
import { buildTopology, type Machine, type TestTopology } from "../harness/topology.js";
import { info, waitForLinkDown } from "./helpers.js";

let topology: TestTopology;
let original: string;
let c: Machine;
beforeAll(async () => {
  topology = await buildTopology([
    { name: "machine-a", role: "master" },
    { name: "machine-b", role: "replica" },
    { name: "machine-c", role: "spare" },
  ]);
  const m = topology.machines as Record<string, Machine>;
  c = m["machine-c"] as Machine;
  await loadData(m["machine-a"]!.server!, { keys: 100, valueBytes: 8 });
  await waitForReplicaSync(m["machine-a"]!.server!, m["machine-b"]!.server!);
  await m["machine-a"]!.server!.kill();
  await waitForLinkDown(m["machine-b"]!);
  original = await readFile(topology.knownHostsPath, "utf8");
});
afterAll(async () => {
  await topology?.close();
});

async function planReplace() {
  const engine = await topology.engine();
  return engine.plan({ cluster: "cache-test", mode: "replace" });
}

describe("SSH host keys are verified", () => {
  it("refuses a host whose key differs from known_hosts, showing the key it presented", async () => {
    const otherKey = join(topology.root, "impostor");
    await promisify(execFile)("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherKey]);
    const impostor = (await readFile(`${otherKey}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
    await writeFile(
      topology.knownHostsPath,
      original.replace(c.sshd!.knownHostsLine, `[${c.ip}]:${c.sshd!.port} ${impostor}`),
    );
    try {
      const outcome = await planReplace();
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.refusal.reason).toMatch(/^cannot run commands on machine-c: /);
      expect(outcome.refusal.reason).toContain(c.sshd!.hostKeyFingerprint);
      expect(outcome.refusal.reason).toMatch(/changed|does not match/i);
      // Nothing happened: B is still a replica with its data, C still has no Redis.
      const m = topology.machines as Record<string, Machine>;
      expect((await info(m["machine-b"]!)).role).toBe("slave");
    } finally {
      await writeFile(topology.knownHostsPath, original);
    }
  });

  it("refuses a host that is not in known_hosts at all", async () => {
    await writeFile(topology.knownHostsPath, original.replace(c.sshd!.knownHostsLine, ""));
    try {
      const outcome = await planReplace();
      expect(outcome.ok).toBe(false);
      if (!outcome.ok)
        expect(outcome.refusal.reason).toMatch(
          /Host key for machine-c .* is not known: the server presented ssh-ed25519 SHA256:.*ssh-keyscan -p/,
        );
    } finally {
      await writeFile(topology.knownHostsPath, original);
    }
  });

  it("accepts the same host once known_hosts is right again", async () => {
    const outcome = await planReplace();
    expect(outcome.ok).toBe(true);
  });
});
