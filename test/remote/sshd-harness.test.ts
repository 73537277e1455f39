import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sh } from "../../src/remote/shell.js";
import { SshHost } from "../../src/remote/ssh-host.js";
import { allocateAddressBlock } from "../harness/addresses.js";
import { descendants, isAlive } from "../harness/proc-tree.js";
import { startSshd, stopAllSshd } from "../harness/sshd.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";
import { waitFor } from "./wait-for.js";

const execFileAsync = promisify(execFile);
const block = allocateAddressBlock();
let temp: TempRoot;

beforeAll(async () => {
  temp = await makeTempRoot("sshd-harness");
});

afterAll(async () => {
  await stopAllSshd();
  await temp?.cleanup();
});

describe("the sshd test harness", () => {
  it("describes its host keys exactly as ssh-keyscan and ssh-keygen -lf see them", async () => {
    const sshd = await startSshd({ host: block.ip(1), hostKeyTypes: ["ed25519", "ecdsa"] });
    try {
      const { stdout } = await execFileAsync("ssh-keyscan", ["-p", String(sshd.port), sshd.host]);
      const scanned = stdout.split("\n").filter((line) => line && !line.startsWith("#"));
      expect(scanned.sort()).toEqual(sshd.hostKeys.map((k) => k.knownHostsLine).sort());
      expect(sshd.knownHostsLine).toBe(`[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey}`);
      expect(sshd.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    } finally {
      await sshd.stop();
    }
  });

  it("stop() leaves nothing behind: sshd, its connections, and what sessions started, daemons too", async () => {
    const sshd = await startSshd({ host: block.ip(2) });
    const knownHostsFile = join(temp.path, "known_hosts");
    await sshd.writeKnownHosts(knownHostsFile);
    const host = new SshHost({
      name: "harness",
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.privateKeyFile,
      knownHostsFile,
    });
    try {
      const daemon = await host.exec(
        sh`setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo started`,
      );
      expect(daemon.stdout).toBe("started\n");
      // "started" can come back before the backgrounded setsid has exec'd sleep.
      const tree = await waitFor("the daemon's sleep under sshd", () => {
        const now = descendants(sshd.pid);
        return now.some((p) => p.comm === "sleep") ? now : undefined;
      });
      expect(tree.some((p) => p.comm === "sshd")).toBe(true); // the open connection
      await sshd.stop();
      expect([sshd.pid, ...tree.map((p) => p.pid)].filter(isAlive)).toEqual([]);
    } finally {
      await host.close();
    }
  });

  it("lets several sshds share one user key", async () => {
    const first = await startSshd({ host: block.ip(3) });
    const second = await startSshd({ host: block.ip(4), userKey: first.userKey });
    expect(second.privateKeyFile).toBe(first.privateKeyFile);
    const knownHostsFile = join(temp.path, "known_hosts_shared");
    await first.writeKnownHosts(knownHostsFile);
    await second.writeKnownHosts(knownHostsFile, { append: true });
    for (const sshd of [first, second]) {
      const host = new SshHost({
        name: sshd.host,
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: first.privateKeyFile,
        knownHostsFile,
      });
      expect((await host.exec(sh`echo hi`)).stdout).toBe("hi\n");
      await host.close();
    }
    await Promise.all([first.stop(), second.stop()]);
  });
});
