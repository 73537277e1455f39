// Copies one file between two SSH hosts through this process with the product's relay (the
// compiled code, as `npm start` runs it), then reports throughput and peak resident memory.
import { readFileSync } from "node:fs";
import { relay } from "../dist/engine/relay.js";
import { sh } from "../dist/remote/shell.js";
import { SshHost } from "../dist/remote/ssh-host.js";

const job = JSON.parse(process.argv[2]);
const host = (side) =>
  new SshHost({
    name: side.name,
    host: side.host,
    port: side.port,
    user: "root",
    privateKey: job.key,
    knownHostsFile: job.knownHosts,
  });
const [from, to] = [host(job.from), host(job.to)];
const result = await relay(
  { host: from, command: sh`cat -- ${job.source}` },
  { host: to, command: sh`cat > ${job.target}` },
  { timeoutMs: 30 * 60_000 },
);
await Promise.all([from.close(), to.close()]);
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
process.stdout.write(
  `${JSON.stringify({ bytes: result.bytes, durationMs: result.durationMs, peakRssMb: peakKb / 1024 })}\n`,
);
process.exit(0);
