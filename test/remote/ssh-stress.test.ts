import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client, type ClientChannel } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sh } from "../../src/remote/shell.js";
import { SshHost } from "../../src/remote/ssh-host.js";
import { type AddressBlock, allocateAddressBlock } from "../harness/addresses.js";
import { type SshdHandle, startSshd, stopAllSshd } from "../harness/sshd.js";
import { readAll } from "./host-contract.js";

/**
 * Many commands over one SshHost against a real sshd: every one must end with its own exact
 * output and exit status, whether it runs alone, 16 at a time, or beyond sshd's MaxSessions.
 * (How long they take is measured by the bench, not here.)
 */

let block: AddressBlock;
let sshd: SshdHandle;
let limited: SshdHandle;
const hosts: SshHost[] = [];

function hostFor(server: SshdHandle, maxSessions?: number): SshHost {
  const host = new SshHost({
    name: "stress",
    host: server.host,
    port: server.port,
    user: server.user,
    privateKey: server.privateKeyFile,
    hostKey: server.hostKeyFingerprint,
    maxSessions,
  });
  hosts.push(host);
  return host;
}

beforeAll(async () => {
  block = allocateAddressBlock();
  [sshd, limited] = await Promise.all([
    startSshd({ host: block.ip(1) }),
    startSshd({ host: block.ip(2), maxSessions: 3 }),
  ]);
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.close()));
  await stopAllSshd();
});

/** Command i prints its number on stdout, something else on stderr, and exits with i mod 7. */
function numbered(i: number) {
  return sh`echo out ${String(i)}; echo err ${String(i)} >&2; exit ${String(i % 7)}`;
}

function expected(i: number) {
  return { code: i % 7, signal: null, stdout: `out ${i}\n`, stderr: `err ${i}\n` };
}

async function runAll(host: SshHost, count: number, concurrency: number): Promise<number> {
  let next = 0;
  let wrong = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const result = await host.exec(numbered(i));
      if (JSON.stringify(result) !== JSON.stringify(expected(i))) {
        wrong++;
        expect(result).toEqual(expected(i));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return wrong;
}

describe("SshHost under load (real sshd)", () => {
  it("1,000 short commands one after another each end with their own output and exit status", async () => {
    expect(await runAll(hostFor(sshd), 1_000, 1)).toBe(0);
  }, 600_000); // a guard against a hang only: the bench measures the time

  it("1,000 short commands 16 at a time each end with their own output and exit status", async () => {
    expect(await runAll(hostFor(sshd), 1_000, 16)).toBe(0);
  }, 600_000);

  it("large, empty and stderr-only outputs come back exactly", async () => {
    const host = hostFor(sshd);
    const large = await host.spawn(sh`seq 1 2000000`);
    const [bytes, status] = await Promise.all([readAll(large.stdout), large.exit]);
    const local = Array.from({ length: 2_000_000 }, (_, i) => `${i + 1}\n`).join("");
    expect(status).toEqual({ code: 0, signal: null });
    expect(bytes.length).toBe(Buffer.byteLength(local));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(
      createHash("sha256").update(local).digest("hex"),
    );

    const [empty, failing, stderrOnly, bigStderr] = await Promise.all([
      host.exec(sh`true`),
      host.exec(sh`exit 42`),
      host.exec(sh`echo only on stderr >&2; exit 3`),
      host.exec(sh`seq 1 100000 >&2`),
    ]);
    expect(empty).toEqual({ code: 0, signal: null, stdout: "", stderr: "" });
    expect(failing).toEqual({ code: 42, signal: null, stdout: "", stderr: "" });
    expect(stderrOnly).toEqual({ code: 3, signal: null, stdout: "", stderr: "only on stderr\n" });
    expect(bigStderr.stdout).toBe("");
    expect(bigStderr.stderr).toBe(Array.from({ length: 100_000 }, (_, i) => `${i + 1}\n`).join(""));
  });
});

describe("sshd's MaxSessions (set to 3 on this sshd)", () => {
  it("sshd refuses a channel beyond its limit (the raw protocol, no queue)", async () => {
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve()).once("error", reject);
      client.connect({
        host: limited.host,
        port: limited.port,
        username: limited.user,
        privateKey: readFileSync(limited.privateKeyFile),
        hostVerifier: (key: Buffer) =>
          `${limited.hostPublicKey.split(" ")[1]}` === key.toString("base64"),
      });
    });
    try {
      const open = () =>
        new Promise<ClientChannel>((resolve, reject) =>
          client.exec("sleep 30", (error, channel) => (error ? reject(error) : resolve(channel))),
        );
      const channels = await Promise.all([open(), open(), open()]);
      await expect(open()).rejects.toThrow(/open failed/);
      for (const channel of channels) channel.close();
    } finally {
      client.end();
    }
  });

  it("40 commands at once on a host told the limit all finish with their own output", async () => {
    // sshd refuses a 4th channel: two for commands and one kept for killing one.
    const host = hostFor(limited, 3);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => host.exec(sh`sleep 0.05; echo ${String(i)}`)),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
    expect(results.every((r) => r.code === 0)).toBe(true);
  });

  it("a command can still be killed while every session is taken", async () => {
    const host = hostFor(limited, 3);
    // Two command slots; the third of sshd's sessions is kept for the kill.
    const sleepers = await Promise.all(
      Array.from({ length: 2 }, () => host.spawn(sh`echo started; exec sleep 300`)),
    );
    for (const proc of sleepers) proc.stderr.resume();
    expect(await Promise.all(sleepers.map((proc) => readFirst(proc.stdout)))).toEqual([
      "started\n",
      "started\n",
    ]);
    sleepers[0]?.kill();
    expect(await sleepers[0]?.exit).toMatchObject({ code: null });
    const after = await host.exec(sh`echo free`);
    expect(after.stdout).toBe("free\n");
    for (const proc of sleepers.slice(1)) proc.kill();
    await Promise.all(sleepers.map((proc) => proc.exit));
  });
});

async function readFirst(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    stream.once("data", (chunk: Buffer) => resolve(chunk.toString()));
  });
}
