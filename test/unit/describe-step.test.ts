import { createHash } from "node:crypto";
import { PassThrough, Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { HostConfig } from "../../src/config/inventory.js";
import { type ConnectionFactory, Connections } from "../../src/engine/connections.js";
import type { RunFacts } from "../../src/engine/events.js";
import { createStepContext, type StepImplementation } from "../../src/engine/step-context.js";
import { STEPS } from "../../src/engine/steps/index.js";
import { discoveryValue, showRedis, showShell } from "../../src/plan/commands.js";
import { describeStep } from "../../src/plan/describe-step.js";
import { ref } from "../../src/plan/planner.js";
import type { Plan, PlannedStep, StepSpec } from "../../src/plan/types.js";
import { parseInfo } from "../../src/redis/info.js";
import type { RedisArg, RedisNode } from "../../src/redis/node.js";
import type { ShellCommand } from "../../src/remote/shell.js";
import type { ExecResult, ExitStatus, RemoteHost, RemoteProcess } from "../../src/remote/types.js";
import { assessTopology } from "../../src/topology/assess.js";
import { cluster, host, topology } from "./fixtures.js";

/**
 * For every kind of step, the commands a plan shows approvers (describeStep) are compared with
 * the commands the step's implementation really sends when it runs against in-memory servers
 * and hosts. Every command that changes something must be shown, in order; every command shown
 * must really run.
 */

const RUN_ID = "fo-test";
const START = "sudo systemctl start redis-server";
const CONFIG_FILE = "/etc/redis/redis.conf";

const a = host("machine-a", 11);
const b = host("machine-b", 12);
const c = host("machine-c", 13, { start: START, config: CONFIG_FILE });
const hosts = [a, b, c];
const A = ref(a);
const B = ref(b);
const C = ref(c);

// ---------------------------------------------------------------------------------------------
// In-memory servers and hosts that record every command they receive.

interface Server {
  name: string;
  host: string;
  port: number;
  running: boolean;
  role: "master" | "slave";
  masterHost?: string;
  masterPort?: number;
  link: "up" | "down";
  offset: number;
  keys: number;
  expires: number;
  lastSave: number;
  aofEnabled: boolean;
  version: string;
  bgsaveFails: boolean;
  store: Map<string, string>;
}

class World {
  /** Every command received, formatted the way plans show commands. */
  readonly executed: string[] = [];
  readonly servers = new Map<string, Server>();
  /** Per machine: path -> content. */
  readonly files = new Map<string, Map<string, Buffer>>();
  readonly config: Server;

  constructor() {
    for (const config of hosts) {
      this.servers.set(config.name, {
        name: config.name,
        host: config.redis.host,
        port: config.redis.port,
        running: true,
        role: "master",
        link: "up",
        offset: 1000,
        keys: 100,
        expires: 3,
        lastSave: 1_700_000_000,
        aofEnabled: false,
        version: "7.0.15",
        bgsaveFails: false,
        store: new Map(),
      });
      this.files.set(config.name, new Map());
    }
    this.config = { ...this.server("machine-a"), name: "config", store: new Map() };
  }

  server(name: string): Server {
    const server = this.servers.get(name);
    if (!server) throw new Error(`no server ${name}`);
    return server;
  }

  replicaOf(name: string, master: string, link: "up" | "down" = "up"): void {
    const server = this.server(name);
    const of = this.server(master);
    Object.assign(server, { role: "slave", masterHost: of.host, masterPort: of.port, link });
  }

  fs(name: string): Map<string, Buffer> {
    const files = this.files.get(name);
    if (!files) throw new Error(`no machine ${name}`);
    return files;
  }

  factory(): ConnectionFactory {
    return {
      redis: (config) => new FakeRedis(this, this.server(config.name)),
      remote: (config) => new FakeHost(this, config),
      discovery: () => new FakeRedis(this, this.config),
    };
  }
}

class FakeRedis implements RedisNode {
  readonly name: string;
  readonly host: string;
  readonly port: number;

  constructor(
    private readonly world: World,
    private readonly server: Server,
  ) {
    this.name = server.name;
    this.host = server.host;
    this.port = server.port;
  }

  async call(command: string, ...args: RedisArg[]): Promise<unknown> {
    this.world.executed.push(showRedis(this.name, [command, ...args]));
    return this.execute(command, args.map(String));
  }

  async info(section?: string): Promise<ReturnType<typeof parseInfo>> {
    const reply = section ? await this.call("INFO", section) : await this.call("INFO");
    return parseInfo(String(reply));
  }

  async transaction(commands: ReadonlyArray<readonly [string, ...RedisArg[]]>) {
    const replies: unknown[] = [];
    for (const [command, ...args] of commands) replies.push(await this.call(command, ...args));
    return replies;
  }

  async close(): Promise<void> {}

  private execute(command: string, args: string[]): unknown {
    const server = this.server;
    if (!server.running) throw new Error(`connect ECONNREFUSED ${server.host}:${server.port}`);
    const name = command.toUpperCase();
    const sub = (args[0] ?? "").toUpperCase();
    switch (name) {
      case "PING":
        return "PONG";
      case "ROLE":
        return [server.role];
      case "INFO":
        return infoText(server);
      case "TIME":
        return [String(server.lastSave + 1), "0"];
      case "LASTSAVE":
        return server.lastSave;
      case "BGSAVE":
        if (server.bgsaveFails) throw new Error("ERR Background save failed: cannot fork");
        server.lastSave += 1;
        return "Background saving started";
      case "SAVE":
        server.lastSave += 1;
        return "OK";
      case "CONFIG":
        if (sub === "GET") {
          const values: Record<string, string> = {
            dir: "/var/lib/redis",
            dbfilename: "dump.rdb",
            "min-replicas-to-write": "0",
          };
          return [args[1], values[args[1] ?? ""] ?? ""];
        }
        if (sub === "SET" && args[1] === "appendonly") server.aofEnabled = args[2] === "yes";
        return "OK";
      case "REPLICAOF":
        if (sub === "NO") {
          server.role = "master";
          delete server.masterHost;
          delete server.masterPort;
        } else {
          const master = this.find(args[0], Number(args[1]));
          Object.assign(server, {
            role: "slave",
            masterHost: args[0],
            masterPort: Number(args[1]),
            link: "up",
            offset: master.offset,
          });
        }
        return "OK";
      case "FAILOVER": {
        if (sub !== "TO") return "OK";
        const target = this.find(args[1], Number(args[2]));
        target.role = "master";
        delete target.masterHost;
        delete target.masterPort;
        Object.assign(server, {
          role: "slave",
          masterHost: target.host,
          masterPort: target.port,
          link: "up",
        });
        return "OK";
      }
      case "CLIENT":
        return sub === "KILL" ? 3 : "OK";
      case "SET":
        server.store.set(args[0] ?? "", args[1] ?? "");
        return "OK";
      case "GET":
        return server.store.get(args[0] ?? "") ?? null;
      case "PUBLISH":
        return 2;
      default:
        throw new Error(`the fake does not know ${name}`);
    }
  }

  private find(address: string | undefined, port: number): Server {
    const found = [...this.world.servers.values()].find(
      (candidate) => candidate.host === address && candidate.port === port,
    );
    if (!found) throw new Error(`no server at ${address}:${port}`);
    return found;
  }
}

function infoText(server: Server): string {
  const lines = [
    "# Server",
    `redis_version:${server.version}`,
    "# Replication",
    `role:${server.role}`,
  ];
  if (server.role === "slave") {
    lines.push(
      `master_host:${server.masterHost}`,
      `master_port:${server.masterPort}`,
      `master_link_status:${server.link}`,
      "master_sync_in_progress:0",
      `slave_repl_offset:${server.offset}`,
      ...(server.link === "down" ? ["master_link_down_since_seconds:30"] : []),
    );
  }
  lines.push(
    "master_failover_state:no-failover",
    `master_repl_offset:${server.offset}`,
    "# Persistence",
    "loading:0",
    "rdb_bgsave_in_progress:0",
    `rdb_last_save_time:${server.lastSave}`,
    "rdb_last_bgsave_status:ok",
    `aof_enabled:${server.aofEnabled ? 1 : 0}`,
    "aof_rewrite_in_progress:0",
    "aof_rewrite_scheduled:0",
    "aof_last_bgrewrite_status:ok",
    "# Keyspace",
  );
  if (server.keys > 0) lines.push(`db0:keys=${server.keys},expires=${server.expires},avg_ttl=1000`);
  return `${lines.join("\r\n")}\r\n`;
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

class FakeHost implements RemoteHost {
  readonly name: string;
  readonly address = "fake";

  constructor(
    private readonly world: World,
    private readonly config: HostConfig,
  ) {
    this.name = config.name;
  }

  async exec(command: ShellCommand): Promise<ExecResult> {
    this.world.executed.push(showShell(this.name, command));
    if (!command.includes('&& echo "')) return this.#run(command);
    // prepare-spare's batched command: parts joined by `&&`, each followed by its marker.
    let stdout = "";
    for (const part of command.split(/ && (echo "(?:kept aside \d+|aof off)")(?: && |$)/)) {
      const marker = /^echo "(.*)"$/.exec(part);
      if (marker) {
        stdout += `${marker[1]}\n`;
        continue;
      }
      const grep = /^\{ grep -i -E .* -- (\S+) \|\| \[ \$\? -eq 1 \]; \}$/.exec(part);
      const result = grep
        ? {
            code: 0,
            signal: null,
            stdout: (
              this.world
                .fs(this.name)
                .get(grep[1] ?? "")
                ?.toString() ?? ""
            )
              .split("\n")
              .filter((line) => /^\s*appendonly\s/i.test(line))
              .map((line) => `${line}\n`)
              .join(""),
            stderr: "",
          }
        : await this.#run(part as ShellCommand);
      stdout += result.stdout;
      if (result.code !== 0) return { ...result, stdout };
    }
    return { code: 0, signal: null, stdout, stderr: "" };
  }

  async #run(command: ShellCommand): Promise<ExecResult> {
    const files = this.world.fs(this.name);
    const ok = (stdout = ""): ExecResult => ({ code: 0, signal: null, stdout, stderr: "" });
    const fail = (stderr: string): ExecResult => ({ code: 1, signal: null, stdout: "", stderr });
    const size = /^wc -c < (\S+)$/.exec(command);
    if (size) {
      const data = files.get(size[1] ?? "");
      return data ? ok(`${data.length}\n`) : fail("No such file");
    }
    const hash = /^sha256sum -- (\S+)$/.exec(command);
    if (hash) {
      const data = files.get(hash[1] ?? "");
      return data ? ok(`${sha256(data)}  ${hash[1]}\n`) : fail("No such file");
    }
    const sizeAndHash = /^wc -c < (\S+) && sha256sum -- (\S+)$/.exec(command);
    if (sizeAndHash) {
      const data = files.get(sizeAndHash[1] ?? "");
      return data
        ? ok(`${data.length}\n${sha256(data)}  ${sizeAndHash[2]}\n`)
        : fail("No such file");
    }
    const install =
      /^\{ if \[ -e (\S+) \]; then test ! -e (\S+) && mv -- \S+ \S+; fi; \} && mv -f -- (\S+) (\S+)$/.exec(
        command,
      );
    if (install) {
      const [, target = "", aside = "", from = ""] = install;
      const existing = files.get(target);
      if (existing) {
        if (files.has(aside)) return fail("");
        files.set(aside, existing);
      }
      const data = files.get(from);
      if (!data) return fail("No such file");
      files.set(target, data);
      files.delete(from);
      return ok();
    }
    const read = /^cat -- (\S+)$/.exec(command);
    if (read) {
      const data = files.get(read[1] ?? "");
      return data ? ok(data.toString()) : fail("No such file");
    }
    if (/^redis-check-rdb \S+$/.test(command)) return ok("RDB looks OK\n");
    const aside = /^if \[ -e (\S+) \]; then test ! -e (\S+) && mv -- \S+ \S+; fi$/.exec(command);
    if (aside) {
      const [, from = "", to = ""] = aside;
      const data = files.get(from);
      if (!data) return ok();
      if (files.has(to)) return fail("");
      files.set(to, data);
      files.delete(from);
      return ok();
    }
    const rename = /^mv -f -- (\S+) (\S+)$/.exec(command);
    if (rename) {
      const [, from = "", to = ""] = rename;
      const data = files.get(from);
      if (!data) return fail("No such file");
      files.set(to, data);
      files.delete(from);
      return ok();
    }
    const remove = /^rm -f -- (\S+)$/.exec(command);
    if (remove) {
      files.delete(remove[1] ?? "");
      return ok();
    }
    const sed = /^sed -i(\S+) -E .* -- (\S+)$/.exec(command);
    if (sed) {
      const [, suffix = "", path = ""] = sed;
      const data = files.get(path);
      if (!data) return fail("No such file");
      files.set(`${path}${suffix}`, data);
      files.set(
        path,
        Buffer.from(data.toString().replace(/^\s*appendonly\s+"?yes"?\s*$/gim, "appendonly no")),
      );
      return ok();
    }
    if (command === this.config.start) {
      const server = this.world.server(this.name);
      const rdb = files.get("/var/lib/redis/dump.rdb");
      Object.assign(server, {
        running: true,
        role: "master",
        keys: rdb ? Number(rdb.toString()) : 0,
      });
      return ok();
    }
    throw new Error(`the fake host does not know: ${command}`);
  }

  async spawn(command: ShellCommand): Promise<RemoteProcess> {
    this.world.executed.push(showShell(this.name, command));
    const files = this.world.fs(this.name);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stderr.end();
    let exited: (status: ExitStatus) => void = () => {};
    const exit = new Promise<ExitStatus>((resolve) => {
      exited = resolve;
    });
    const send = /^size=\$\(wc -c < (\S+)\)/.exec(command);
    if (send) {
      const data = files.get(send[1] ?? "");
      const stderrOut = new PassThrough();
      if (data) {
        stderrOut.write(`size ${data.length}\n`);
        stdout.end(data);
        stderrOut.end(`${sha256(data)}  -\n`);
      } else {
        stdout.end();
        stderrOut.end("No such file\n");
      }
      exited({ code: data ? 0 : 1, signal: null });
      return { stdin: new PassThrough(), stdout, stderr: stderrOut, exit, kill: () => {} };
    }
    const receive =
      /^IFS= read -r size .* tee -- (\S+).* if \[ -e (\S+) \]; then test ! -e (\S+) &&/.exec(
        command,
      );
    if (receive) {
      const [, partial = "", target = "", aside = ""] = receive;
      const checks = command.includes("redis-check-rdb");
      let input = Buffer.alloc(0);
      let reported = false;
      const stdin = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          input = Buffer.concat([input, chunk]);
          const newline = input.indexOf(0x0a);
          const size = Number(input.subarray(0, newline).toString());
          const body = input.subarray(newline + 1, newline + 1 + size);
          if (!reported && newline > 0 && body.length === size) {
            reported = true;
            files.set(partial, Buffer.from(body));
            stdout.write(`tee 0\n${sha256(body)}  -\n${checks ? "check 0\n" : ""}size ${size}\n`);
          }
          callback();
        },
        final(callback) {
          const newline = input.indexOf(0x0a);
          const size = Number(input.subarray(0, newline).toString());
          const verdict = input
            .subarray(newline + 1 + size)
            .toString()
            .trim();
          const existing = files.get(target);
          if (verdict === "install" && !(existing && files.has(aside))) {
            if (existing) files.set(aside, existing);
            files.set(target, files.get(partial) ?? Buffer.alloc(0));
            files.delete(partial);
            stdout.end("installed\n");
            exited({ code: 0, signal: null });
          } else {
            files.delete(partial);
            stdout.end("not installed\n");
            exited({ code: 1, signal: null });
          }
          callback();
        },
      });
      return { stdin, stdout, stderr, exit, kill: () => {} };
    }
    throw new Error(`the fake host cannot spawn: ${command}`);
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// Running a step and comparing.

function planWith(specs: StepSpec[]): Plan {
  const steps: PlannedStep[] = specs.map((spec, i) => ({
    index: i + 1,
    ...describeStep(spec, RUN_ID),
    spec,
  }));
  const observed = topology([]);
  return {
    runId: RUN_ID,
    cluster: "cache-prod",
    createdAt: 0,
    mode: "replace",
    modeReason: "test",
    oldMaster: A,
    newMaster: C,
    candidates: [],
    exposure: "",
    steps,
    risks: [],
    topology: observed,
    assessment: assessTopology(observed),
    hostFacts: [],
  };
}

async function runStep(
  world: World,
  spec: StepSpec,
  options: { facts?: RunFacts; discovery?: boolean; plan?: StepSpec[] } = {},
): Promise<{ output: string[]; warnings: string[] }> {
  const clusterConfig = cluster(hosts, {
    ...(options.discovery ? { discovery: { url: "redis://cfg:6379/0", key: "cfg:key" } } : {}),
  });
  const output: string[] = [];
  const warnings: string[] = [];
  const context = createStepContext({
    runId: RUN_ID,
    plan: planWith(options.plan ?? [spec]),
    cluster: clusterConfig,
    connections: new Connections(clusterConfig, world.factory()),
    facts: options.facts ?? {},
    log: pino({ level: "silent" }),
    output: (text) => output.push(text),
    warn: (text) => warnings.push(text),
  });
  const implementation = STEPS[spec.kind] as StepImplementation<StepSpec>;
  await implementation.run(spec, context);
  return { output, warnings };
}

const RELAY = "  |  (relayed through the bot, SHA-256 on the fly)  |  ";

/** The commands in a plan step's description; "(only if ...)" lines are conditional. */
function shownCommands(commands: string[]): Array<{ command: string; conditional: boolean }> {
  const shown: Array<{ command: string; conditional: boolean }> = [];
  for (const line of commands.flatMap((entry) => entry.split(RELAY))) {
    const match = /^\[([^\]]+)\] (redis>|\$) (.*)$/.exec(line);
    if (!match) continue;
    const [, where = "", kind = "", rest = ""] = match;
    const annotation = /\s{2,}\((.*)\)$/.exec(rest);
    const text = annotation ? rest.slice(0, annotation.index) : rest;
    const conditional = annotation?.[1]?.startsWith("only if") ?? false;
    for (const part of kind === "redis>" ? text.split(" / ") : [text]) {
      shown.push({ command: `[${where}] ${kind} ${part}`, conditional });
    }
  }
  return shown;
}

/** Commands that only read: a plan may leave them out. */
function readsOnly(command: string): boolean {
  const redis = / redis> (.*)$/.exec(command)?.[1];
  if (redis !== undefined)
    return (
      /^(PING|ROLE|INFO|TIME|LASTSAVE|GET)\b/.test(redis) ||
      /^(CONFIG GET|COMMAND INFO|PUBSUB NUMSUB)\b/.test(redis)
    );
  const shell = / \$ (.*)$/.exec(command)?.[1] ?? "";
  return /^(wc -c <|sha256sum --|cat --) /.test(shell);
}

function isSubsequence(needles: string[], haystack: string[]): boolean {
  let at = 0;
  for (const item of haystack) if (item === needles[at]) at += 1;
  return at === needles.length;
}

/** Every shown command ran (in order); every command that changes something was shown (in order). */
function expectRunsAsShown(
  spec: StepSpec,
  executed: string[],
  options: { conditionalRan?: boolean } = {},
): void {
  const shown = shownCommands(describeStep(spec, RUN_ID).commands).filter(
    (entry) => !entry.conditional || options.conditionalRan,
  );
  const shownText = shown.map((entry) => entry.command);
  expect(shownText.length).toBeGreaterThan(0);
  expect(
    isSubsequence(shownText, executed),
    `shown:\n${shownText.join("\n")}\nexecuted:\n${executed.join("\n")}`,
  ).toBe(true);
  expect(executed.filter((command) => !readsOnly(command))).toEqual(
    shownText.filter((command) => !readsOnly(command)),
  );
}

// ---------------------------------------------------------------------------------------------

describe("the comparison itself", () => {
  it("fails when a step runs a changing command the plan does not show", () => {
    const spec: StepSpec = { kind: "promote", host: B };
    expect(() =>
      expectRunsAsShown(spec, [
        "[machine-b] redis> REPLICAOF NO ONE",
        "[machine-b] redis> FLUSHALL",
        "[machine-b] redis> CONFIG REWRITE",
      ]),
    ).toThrow();
  });

  it("fails when a shown command never ran", () => {
    const spec: StepSpec = { kind: "promote", host: B };
    expect(() => expectRunsAsShown(spec, ["[machine-b] redis> REPLICAOF NO ONE"])).toThrow();
  });
});

describe("describeStep shows exactly what each step runs", () => {
  it("recheck: reads ROLE and INFO of the hosts it names and changes nothing", async () => {
    const world = new World();
    world.server("machine-a").running = false;
    world.replicaOf("machine-b", "machine-a", "down");
    world.server("machine-c").running = false;
    const spec: StepSpec = {
      kind: "recheck",
      expectMaster: "down",
      master: A,
      mustAnswer: [{ ref: B, role: "replica" }],
      mustBeSilent: [C],
    };
    await runStep(world, spec);
    expect(describeStep(spec, RUN_ID).commands).toEqual([
      "[machine-a] redis> ROLE / INFO",
      "[machine-b] redis> ROLE / INFO",
      "[machine-c] redis> ROLE / INFO",
    ]);
    expectRunsAsShown(spec, world.executed);
  });

  it("snapshot: LASTSAVE, BGSAVE, INFO keyspace", async () => {
    const world = new World();
    world.replicaOf("machine-b", "machine-a");
    const spec: StepSpec = { kind: "snapshot", host: B, fallbackToSave: false };
    await runStep(world, spec);
    expectRunsAsShown(spec, world.executed);
  });

  it("snapshot with fallbackToSave: the SAVE shown as conditional is what runs when BGSAVE fails", async () => {
    const world = new World();
    world.replicaOf("machine-b", "machine-a");
    world.server("machine-b").bgsaveFails = true;
    const spec: StepSpec = { kind: "snapshot", host: B, fallbackToSave: true };
    const { warnings } = await runStep(world, spec);
    expect(warnings.join("\n")).toMatch(/falling back to a blocking SAVE/);
    expect(describeStep(spec, RUN_ID).commands).toContain(
      "[machine-b] redis> SAVE   (only if BGSAVE cannot run)",
    );
    expectRunsAsShown(spec, world.executed, { conditionalRan: true });
  });

  describe("copy-rdb", () => {
    const spec: StepSpec = {
      kind: "copy-rdb",
      from: B,
      to: C,
      sourcePath: "/var/lib/redis/dump.rdb",
      targetPath: "/var/lib/redis/dump.rdb",
      checkRdb: true,
    };
    const partial = `/var/lib/redis/dump.rdb.${RUN_ID}.partial`;
    const aside = `/var/lib/redis/dump.rdb.before-${RUN_ID}`;

    it("shows a partial path that includes the run id, and writes the copy there", async () => {
      const world = new World();
      world.fs("machine-b").set("/var/lib/redis/dump.rdb", Buffer.from("REDIS0011 snapshot"));
      await runStep(world, spec);
      const commands = describeStep(spec, RUN_ID).commands;
      expect(commands.join("\n")).toContain(`tee -- ${partial}`);
      expect(world.executed.join("\n")).toContain(`| tee -- ${partial} /dev/fd/4;`);
      expect(world.executed.join("\n")).toContain(`&& mv -f -- ${partial} /var/lib/redis/dump.rdb`);
      expect(world.fs("machine-c").has(partial)).toBe(false);
    });

    it("runs exactly the shown commands, keeping an existing target under the aside name", async () => {
      const world = new World();
      world.fs("machine-b").set("/var/lib/redis/dump.rdb", Buffer.from("new snapshot"));
      world.fs("machine-c").set("/var/lib/redis/dump.rdb", Buffer.from("old file"));
      await runStep(world, spec);
      expectRunsAsShown(spec, world.executed);
      expect(describeStep(spec, RUN_ID).risk).toContain(aside);
      expect(world.fs("machine-c").get(aside)?.toString()).toBe("old file");
      expect(world.fs("machine-c").get("/var/lib/redis/dump.rdb")?.toString()).toBe("new snapshot");
    });

    it("neither shows nor runs redis-check-rdb when the target lacks it", async () => {
      const world = new World();
      world.fs("machine-b").set("/var/lib/redis/dump.rdb", Buffer.from("snapshot"));
      const without: StepSpec = { ...spec, checkRdb: false };
      await runStep(world, without);
      expect(describeStep(without, RUN_ID).commands.join("\n")).not.toContain("redis-check-rdb");
      expect(world.executed.join("\n")).not.toContain("redis-check-rdb");
      expectRunsAsShown(without, world.executed);
    });
  });

  it("prepare-spare: moves each file aside and switches AOF off in redis.conf", async () => {
    const world = new World();
    const files = world.fs("machine-c");
    files.set("/var/lib/redis/appendonlydir", Buffer.from("aof"));
    files.set(CONFIG_FILE, Buffer.from("dir /var/lib/redis\nappendonly yes\n"));
    const spec: StepSpec = {
      kind: "prepare-spare",
      host: C,
      moveAside: ["/var/lib/redis/appendonlydir", "/var/lib/redis/appendonly.aof"],
      disableAofIn: CONFIG_FILE,
    };
    await runStep(world, spec);
    expectRunsAsShown(spec, world.executed);
    expect(files.has(`/var/lib/redis/appendonlydir.before-${RUN_ID}`)).toBe(true);
    expect(files.get(CONFIG_FILE)?.toString()).toContain("appendonly no");
    expect(files.has(`${CONFIG_FILE}.before-${RUN_ID}`)).toBe(true);
  });

  it("start-redis: the inventory's start command, after a PING that must fail", async () => {
    const world = new World();
    world.server("machine-c").running = false;
    world.fs("machine-c").set("/var/lib/redis/dump.rdb", Buffer.from("100"));
    const spec: StepSpec = { kind: "start-redis", host: C, command: START, expectKeys: "snapshot" };
    await runStep(world, spec, {
      facts: {
        snapshot: {
          host: "machine-b",
          keys: 100,
          keysWithExpiry: 3,
          lastSave: 1,
          path: "/var/lib/redis/dump.rdb",
          method: "BGSAVE",
        },
      },
    });
    expect(describeStep(spec, RUN_ID).commands[1]).toBe(`[machine-c] $ ${START}`);
    expectRunsAsShown(spec, world.executed);
  });

  it("enable-aof: CONFIG SET appendonly yes, then CONFIG REWRITE", async () => {
    const world = new World();
    const spec: StepSpec = { kind: "enable-aof", host: C };
    await runStep(world, spec);
    expect(world.server("machine-c").aofEnabled).toBe(true);
    expectRunsAsShown(spec, world.executed);
  });

  it("promote: REPLICAOF NO ONE, then CONFIG REWRITE", async () => {
    const world = new World();
    world.replicaOf("machine-b", "machine-a", "down");
    const spec: StepSpec = { kind: "promote", host: B };
    await runStep(world, spec);
    expect(world.server("machine-b").role).toBe("master");
    expectRunsAsShown(spec, world.executed);
  });

  it("replicate: REPLICAOF the new master, then CONFIG REWRITE", async () => {
    const world = new World();
    world.replicaOf("machine-c", "machine-a", "down");
    const spec: StepSpec = { kind: "replicate", replica: C, master: B };
    await runStep(world, spec);
    expect(world.server("machine-c").masterHost).toBe(B.host);
    expectRunsAsShown(spec, world.executed);
  });

  it("switchover with FAILOVER: FAILOVER TO the announced address, then CONFIG REWRITE on both", async () => {
    const world = new World();
    world.replicaOf("machine-b", "machine-a");
    const spec: StepSpec = {
      kind: "switchover",
      master: A,
      target: B,
      targetAnnounced: { ip: B.host, port: B.port },
      method: "failover-command",
      timeoutMs: 10_000,
    };
    await runStep(world, spec);
    expect(world.server("machine-b").role).toBe("master");
    expect(world.server("machine-a").role).toBe("slave");
    expectRunsAsShown(spec, world.executed);
  });

  describe("switchover with CLIENT PAUSE (master older than 6.2)", () => {
    const spec: StepSpec = {
      kind: "switchover",
      master: A,
      target: B,
      targetAnnounced: { ip: B.host, port: B.port },
      method: "refuse-writes",
      timeoutMs: 10_000,
      restoreConfig: { minReplicasToWrite: 0, minReplicasMaxLag: 10 },
    };

    function oldWorld(): World {
      const world = new World();
      world.server("machine-a").version = "6.0.16";
      world.server("machine-b").version = "6.0.16";
      world.replicaOf("machine-b", "machine-a");
      return world;
    }

    it("completes against the in-memory servers, swapping the roles", async () => {
      const world = oldWorld();
      await runStep(world, spec);
      expect(world.server("machine-b").role).toBe("master");
      expect(world.server("machine-a").role).toBe("slave");
    });

    it("runs exactly the shown commands", async () => {
      const world = oldWorld();
      await runStep(world, spec);
      expectRunsAsShown(spec, world.executed);
    });
  });

  it("fence: REPLICAOF the new master and CONFIG REWRITE on a reachable old master", async () => {
    const world = new World();
    // Empty: nothing of its own to keep (keeping a diverged dataset is tested against real servers).
    world.server("machine-a").keys = 0;
    const spec: StepSpec = { kind: "fence", host: A, newMaster: B };
    await runStep(world, spec);
    expect(world.server("machine-a").masterHost).toBe(B.host);
    expectRunsAsShown(spec, world.executed);
  });

  it("fence: runs nothing that changes anything when the old master is unreachable", async () => {
    const world = new World();
    world.server("machine-a").running = false;
    const spec: StepSpec = { kind: "fence", host: A, newMaster: B };
    const { warnings } = await runStep(world, spec);
    expect(warnings.join("\n")).toMatch(/NOT fenced/);
    expect(world.executed.filter((command) => !readsOnly(command))).toEqual([]);
  });

  it("announce: SET and PUBLISH the discovery key, then disconnect clients", async () => {
    const world = new World();
    const spec: StepSpec = {
      kind: "announce",
      newMaster: B,
      discovery: { url: "redis://cfg:6379/0", key: "cfg:key" },
      reconnectClientsOn: [A, C],
    };
    await runStep(world, spec, { discovery: true });
    expect(world.config.store.get("cfg:key")).toBe(discoveryValue(B.host, B.port));
    expectRunsAsShown(spec, world.executed);
  });

  it("announce without discovery: only disconnects clients", async () => {
    const world = new World();
    const spec: StepSpec = { kind: "announce", newMaster: B, reconnectClientsOn: [C] };
    await runStep(world, spec);
    expect(describeStep(spec, RUN_ID).commands[0]).toMatch(/no discovery configured/);
    expectRunsAsShown(spec, world.executed);
  });
});

describe("describeStep: titles and hosts", () => {
  const cases: Array<[string, StepSpec, string, string | undefined]> = [
    [
      "snapshot",
      { kind: "snapshot", host: B, fallbackToSave: false },
      "Take a fresh snapshot on machine-b",
      "machine-b",
    ],
    ["promote", { kind: "promote", host: B }, "Promote machine-b to master", "machine-b"],
    [
      "replicate",
      { kind: "replicate", replica: C, master: B },
      "Make machine-c a replica of machine-b",
      "machine-c",
    ],
    [
      "fence",
      { kind: "fence", host: A, newMaster: B },
      "Fence the old master machine-a",
      "machine-a",
    ],
    [
      "announce",
      { kind: "announce", newMaster: B, reconnectClientsOn: [] },
      "Tell clients the new master is machine-b",
      undefined,
    ],
  ];

  it.each(cases)("%s has the expected title and host", (_kind, spec, title, where) => {
    const description = describeStep(spec, RUN_ID);
    expect(description.title).toBe(title);
    expect(description.host).toBe(where);
  });
});
