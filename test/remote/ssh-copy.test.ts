import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sh } from "../../src/remote/shell.js";
import { SshHost } from "../../src/remote/ssh-host.js";
import type { RemoteHost, RemoteProcess } from "../../src/remote/types.js";
import { allocateAddressBlock } from "../harness/addresses.js";
import { type SshdHandle, startSshd, stopAllSshd } from "../harness/sshd.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";
import { waitFor } from "./wait-for.js";

const MiB = 1024 * 1024;
const FILE_SIZE = 64 * MiB;

let temp: TempRoot;
let source: SshdHandle;
let target: SshdHandle;
let hostA: SshHost;
let hostB: SshHost;
let sourceFile: string;

async function sha256(host: RemoteHost, path: string): Promise<string> {
  const result = await host.exec(sh`sha256sum < ${path}`);
  expect(result.code).toBe(0);
  return result.stdout.split(" ")[0] ?? "";
}

/** The copy as the engine does it: cat on one host piped through the bot into cat > tmp on another. */
async function copy(
  from: string,
  to: string,
  watch?: (reader: RemoteProcess, writer: RemoteProcess) => void,
) {
  const reader = await hostA.spawn(sh`cat -- ${from}`);
  const writer = await hostB.spawn(sh`cat > ${to}`);
  for (const stream of [reader.stderr, writer.stderr, writer.stdout]) stream.resume();
  watch?.(reader, writer);
  await pipeline(reader.stdout, writer.stdin);
  return { reader, writer, exits: await Promise.all([reader.exit, writer.exit]) };
}

/** A full GC, so that memory samples measure live data rather than garbage not yet collected. */
function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

function settled(proc: RemoteProcess): Promise<boolean> {
  return Promise.race([
    proc.exit.then(() => true),
    new Promise<boolean>((r) => setImmediate(() => r(false))),
  ]);
}

beforeAll(async () => {
  temp = await makeTempRoot("ssh-copy");
  const block = allocateAddressBlock();
  source = await startSshd({ host: block.ip(1) });
  // One bot key for the whole topology, as in production.
  target = await startSshd({ host: block.ip(2), userKey: source.userKey });
  const knownHostsFile = join(temp.path, "known_hosts");
  await source.writeKnownHosts(knownHostsFile);
  await target.writeKnownHosts(knownHostsFile, { append: true });
  const common = { user: "root", privateKey: source.privateKeyFile, knownHostsFile };
  hostA = new SshHost({ name: "redis-a", host: source.host, port: source.port, ...common });
  hostB = new SshHost({ name: "redis-b", host: target.host, port: target.port, ...common });
  sourceFile = join(temp.path, "dump.rdb");
  const made = await hostA.exec(sh`head -c ${FILE_SIZE} /dev/urandom > ${sourceFile}`);
  expect(made.code).toBe(0);
});

afterAll(async () => {
  await Promise.all([hostA?.close(), hostB?.close()]);
  await stopAllSshd();
  await temp?.cleanup();
});

describe("streaming a file between two SSH hosts", () => {
  it("copies 64 MiB intact with the bot's memory staying flat", async () => {
    // Warm up (connections, buffers, JIT) so the baseline is the steady state.
    await copy(sourceFile, join(temp.path, "warm-up.tmp"));
    collectGarbage();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let mostBuffered = 0;
    let sampler: NodeJS.Timeout | undefined;
    const destination = join(temp.path, "dump.rdb.tmp");
    try {
      const { exits } = await copy(sourceFile, destination, (reader, writer) => {
        sampler = setInterval(() => {
          const buffered = reader.stdout.readableLength + writer.stdin.writableLength;
          mostBuffered = Math.max(mostBuffered, buffered);
          collectGarbage();
          peak = Math.max(peak, process.memoryUsage().rss);
        }, 25);
      });
      expect(exits).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
    } finally {
      clearInterval(sampler);
    }
    expect(mostBuffered / MiB).toBeLessThan(8); // stream buffers stay at their high-water marks
    const size = await hostB.exec(sh`stat -c %s ${destination}`);
    expect(Number(size.stdout)).toBe(FILE_SIZE);
    expect(await sha256(hostB, destination)).toBe(await sha256(hostA, sourceFile));
    expect((peak - baseline) / MiB).toBeLessThan(32);
  });

  it("keeps backpressure: an unread stdout stops the remote command instead of buffering", async () => {
    const reader = await hostA.spawn(sh`cat -- ${sourceFile}`);
    reader.stderr.resume();
    // Nobody reads: the stream fills to its high-water mark, then the SSH window closes.
    await waitFor("stdout to fill its buffer", () => reader.stdout.readableLength >= 2 * MiB);
    let last = -1;
    await waitFor("the buffered amount to stop growing", async () => {
      const now = reader.stdout.readableLength;
      const stable = now === last;
      last = now;
      await new Promise((r) => setTimeout(r, 100));
      return stable;
    });
    expect(reader.stdout.readableLength).toBeLessThanOrEqual(4 * MiB + 64 * 1024);
    expect(await settled(reader)).toBe(false); // cat is blocked, not finished

    let total = 0;
    reader.stdout.on("data", (chunk: Buffer) => {
      total += chunk.length;
    });
    expect(await reader.exit).toEqual({ code: 0, signal: null });
    expect(total).toBe(FILE_SIZE);
  });

  it("a copy cut by a dropped connection shows it: the reader's exit has code null", async () => {
    const reader = await hostA.spawn(sh`cat -- ${sourceFile}`);
    const writer = await hostB.spawn(sh`cat > ${join(temp.path, "cut.tmp")}`);
    for (const stream of [reader.stderr, writer.stderr, writer.stdout]) stream.resume();
    let copied = 0;
    reader.stdout.on("data", (chunk: Buffer) => {
      copied += chunk.length;
      if (copied >= 8 * MiB && copied - chunk.length < 8 * MiB) void source.killSessions();
    });
    await pipeline(reader.stdout, writer.stdin);
    const [readerExit, writerExit] = await Promise.all([reader.exit, writer.exit]);
    expect(readerExit.code).toBeNull();
    expect(writerExit.code).toBe(0); // cat > file saw EOF: only the reader's status tells
    expect(copied).toBeLessThan(FILE_SIZE);

    // The next copy reconnects and succeeds.
    const again = join(temp.path, "after-drop.tmp");
    const { exits } = await copy(sourceFile, again);
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    expect(await sha256(hostB, again)).toBe(await sha256(hostA, sourceFile));
  });
});
