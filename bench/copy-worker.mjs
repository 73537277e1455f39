// Copies one file between two SSH hosts with the product's copy, relayed through this process
// or (job.mode "direct") over ssh run on the source (the
// compiled code, as `npm start` runs it: one pass, size and SHA-256 on both ends and in
// flight, the partial file and the rename), then reports throughput and peak resident memory.
import { readFileSync } from "node:fs";
import { directCopy } from "../dist/engine/direct-copy.js";
import { verifiedCopy } from "../dist/engine/verified-copy.js";
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
const request = {
  from: { host: from, name: job.from.name, path: job.source },
  to: {
    host: to,
    name: job.to.name,
    partial: `${job.target}.partial`,
    target: job.target,
    aside: `${job.target}.before`,
    // The bench's files are random bytes, not RDB: the structure check is timed in `replace`.
    checkRdb: false,
  },
  timeoutMs: 30 * 60_000,
};
// `copy: direct`: B runs ssh to C with the same key and known_hosts file as the bot.
const result =
  job.mode === "direct"
    ? await directCopy(request, {
        user: "root",
        host: job.to.host,
        port: job.to.port,
        identityFile: job.key,
        knownHostsFile: job.knownHosts,
      })
    : await verifiedCopy(request);
await Promise.all([from.close(), to.close()]);
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
process.stdout.write(
  `${JSON.stringify({ bytes: result.bytes, durationMs: result.durationMs, peakRssMb: peakKb / 1024 })}\n`,
);
process.exit(0);
