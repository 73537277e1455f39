import { posix } from "node:path";
import type { HostConfig } from "../config/inventory.js";
import { errorMessage } from "../errors.js";
import { type ShellCommand, sequence, sh } from "../remote/shell.js";
import type { ExecResult, RemoteHost } from "../remote/types.js";
import { parseRedisConf, type RedisConfSettings } from "./redis-conf.js";
import type { HostFacts } from "./types.js";

const PROBE_TIMEOUT_MS = 15_000;

/**
 * Looks at a machine through its remote transport: which tools exist, what lies in the Redis
 * data directory (an old RDB, AOF files that would win over a snapshot), and what redis.conf
 * says. Read-only.
 */
export async function probeHost(
  host: HostConfig,
  remote: RemoteHost,
  /** Files whose readability matters there (copy: direct's identity and known_hosts files). */
  files: readonly string[] = [],
): Promise<HostFacts> {
  const facts: HostFacts = {
    name: host.name,
    reachable: false,
    aofFiles: [],
    tools: { sha256sum: false, redisCheckRdb: false, valkeyCheckRdb: false },
  };
  try {
    // Both at once when the inventory gives the data directory; a second look only when
    // redis.conf names other files than the defaults.
    const probe = (conf: RedisConfSettings) => {
      const dir = host.dir ?? (conf.dir && posix.isAbsolute(conf.dir) ? conf.dir : undefined);
      const rdb = dir ? posix.join(dir, conf.dbfilename ?? host.dbfilename) : undefined;
      const aofCandidates = dir
        ? [
            posix.join(dir, conf.appenddirname ?? "appendonlydir"),
            posix.join(dir, conf.appendfilename ?? "appendonly.aof"),
          ]
        : [];
      return { dir, script: probeScript(dir, rdb, aofCandidates, files) };
    };
    const first = probe({});
    // One remote command reads redis.conf and looks at the data directory (when the inventory
    // gives it); its two outputs are told apart by a marker line carrying cat's exit status.
    const [configResult, probeResult] = host.config
      ? await readConfigAndProbe(remote, host.config, first.dir ? first.script : undefined)
      : [
          undefined,
          first.dir ? await remote.exec(first.script, { timeoutMs: PROBE_TIMEOUT_MS }) : undefined,
        ];
    let conf: RedisConfSettings = {};
    if (configResult && configResult.code === 0) {
      conf = parseRedisConf(configResult.stdout);
      if (conf.appendonly !== undefined) facts.configAppendonly = conf.appendonly;
    } else if (configResult) {
      facts.error = `cannot read ${host.config}: ${configResult.stderr.trim() || `exit ${configResult.code}`}`;
    }
    facts.reachable = true;
    const final = probe(conf);
    const result =
      final.script === first.script && probeResult
        ? probeResult
        : await remote.exec(final.script, { timeoutMs: PROBE_TIMEOUT_MS });
    if (final.dir) facts.dir = final.dir;
    applyProbeOutput(facts, result.stdout);
    if (final.dir && !facts.dirExists) facts.error = `data directory ${final.dir} does not exist`;
  } catch (error) {
    facts.reachable = false;
    facts.error = errorMessage(error);
  }
  return facts;
}

const CONFIG_END = "rfb-config-exit";

/** `cat` of redis.conf then the probe, in one command; the results as two separate commands'. */
async function readConfigAndProbe(
  remote: RemoteHost,
  config: string,
  script: ShellCommand | undefined,
): Promise<[ExecResult, ExecResult | undefined]> {
  // CONFIG_END, spelled out: an interpolated value would be quoted inside the quotes.
  const readConfig = sh`cat -- ${config}; printf '\\nrfb-config-exit %s\\n' "$?"`;
  const result = await remote.exec(script ? sequence(readConfig, script) : readConfig, {
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  const marker = new RegExp(`\n${CONFIG_END} (\\d+)\n`).exec(result.stdout);
  if (!marker) return [result, undefined];
  const configOut = result.stdout.slice(0, marker.index);
  const rest = result.stdout.slice(marker.index + marker[0].length);
  const code = Number(marker[1]);
  return [
    { code, signal: null, stdout: configOut, stderr: code === 0 ? "" : result.stderr },
    script ? { ...result, stdout: rest } : undefined,
  ];
}

function probeScript(
  dir: string | undefined,
  rdb: string | undefined,
  aofCandidates: string[],
  files: readonly string[],
): ShellCommand {
  const toolNames =
    files.length > 0
      ? "sha256sum redis-check-rdb valkey-check-rdb ssh"
      : "sha256sum redis-check-rdb valkey-check-rdb";
  const checks = [
    `for t in ${toolNames}; do if command -v "$t" >/dev/null 2>&1; then echo "tool=$t"; fi; done` as ShellCommand,
    ...files.map((file) => sh`if [ -r ${file} ]; then echo readable=${file}; fi`),
  ];
  const tools = sequence(...checks);
  if (!dir || !rdb) return tools;
  const [aofDir = "", aofFile = ""] = aofCandidates;
  return sequence(
    tools,
    sh`if [ -d ${dir} ]; then echo dir=yes; fi`,
    sh`if [ -f ${rdb} ]; then echo "rdb=$(wc -c < ${rdb})"; fi`,
    sh`for f in ${aofDir} ${aofFile}; do if [ -e "$f" ]; then echo "aof=$f"; fi; done`,
  );
}

export function applyProbeOutput(facts: HostFacts, stdout: string): void {
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (key === "tool" && value === "sha256sum") facts.tools.sha256sum = true;
    if (key === "tool" && value === "redis-check-rdb") facts.tools.redisCheckRdb = true;
    if (key === "tool" && value === "valkey-check-rdb") facts.tools.valkeyCheckRdb = true;
    if (key === "tool" && value === "ssh") facts.tools.ssh = true;
    if (key === "readable") facts.readable = [...(facts.readable ?? []), line.slice(eq + 1)];
    if (key === "dir") facts.dirExists = true;
    if (key === "rdb") {
      facts.rdbExists = true;
      facts.rdbBytes = Number(value);
    }
    if (key === "aof") facts.aofFiles.push(value);
  }
}
