import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli/program.js";
import { sleep } from "../engine/wait.js";
import {
  connect,
  createSandbox,
  inventoryFor,
  killServer,
  loadSampleData,
  readPid,
  type SandboxServer,
  startServer,
} from "./sandbox.js";

/**
 * `npm run demo`: the book's scenario on this machine. A is the master, B its replica, C a
 * spare with Redis stopped. A is lost; `replace` runs through the same engine and CLI as in
 * production (commands run through a local shell instead of SSH), printing every step.
 */
async function demo(): Promise<number> {
  const port = Number(process.env.DEMO_PORT ?? 16379);
  const keys = Number(process.env.DEMO_KEYS ?? 200_000);
  const keep = process.env.DEMO_KEEP === "1";
  const root = await mkdtemp(join(tmpdir(), "redis-failover-demo-"));
  const servers = await createSandbox(root, port);
  const inventory = await inventoryFor(root, servers);
  // The demo's journal and locks live in its sandbox, not in ./state.
  demoEnv = { ...process.env, STATE_DIR: join(root, "state") };
  const say = (text: string) => process.stdout.write(`\n== ${text}\n`);
  try {
    say(
      `Sandbox in ${root}: config Redis ${servers.config.host}, A ${servers.a.host}, B ${servers.b.host}, C ${servers.c.host} (port ${port})`,
    );
    await startServer(servers.config);
    await startServer(servers.a);
    await startServer(servers.b);
    const loaded = await loadSampleData(servers.a, keys, 100);
    await waitForSync(servers.b, loaded);
    say(
      `A (master) holds ${loaded} keys; B (replica) has caught up. C is a spare with Redis stopped.`,
    );
    await runCli(["status", "demo", "--inventory", inventory], io()).catch(() => 0);

    say("Machine A is lost (redis-server killed without saving).");
    await killServer(servers.a);
    await waitForLinkDown(servers.b);

    say("redis-failover failover demo --mode replace --yes");
    const code = await runCli(
      ["failover", "demo", "--mode", "replace", "--yes", "--inventory", inventory],
      io(),
    );

    // The run's summary above already ends with the topology as it is now.
    const [bKeys, cKeys, discovery] = await Promise.all([
      dbsize(servers.b),
      dbsize(servers.c),
      connect(servers.config).get("config:redis:demo"),
    ]);
    say(
      `Key counts: A had ${loaded}, C (new master) has ${cKeys}, B (replica of C) has ${bKeys}. Discovery key: ${discovery}`,
    );
    if (keep) {
      const cli = `STATE_DIR=${join(root, "state")} node bin/redis-failover.js`;
      say("The sandbox keeps running (DEMO_KEEP=1). The hints above work here, for example:");
      process.stdout.write(
        [
          `  ${cli} status demo --inventory ${inventory}`,
          `  ${cli} fence demo --inventory ${inventory}   (after: redis-server ${servers.a.configFile})`,
          `  Stop it: kill $(cat ${Object.values(servers)
            .map((entry) => entry.pidFile)
            .join(" ")}); rm -r ${root}`,
          "",
        ].join("\n"),
      );
    } else {
      say(
        "The sandbox is removed now, so the hints above apply to a real cluster. To follow them here, run DEMO_KEEP=1 npm run demo.",
      );
    }
    return code;
  } finally {
    if (!keep) {
      await Promise.all(Object.values(servers).map((entry) => stop(entry)));
      await rm(root, { recursive: true, force: true });
    }
  }
}

let demoEnv: NodeJS.ProcessEnv = process.env;

function io() {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: demoEnv,
    interactive: false,
  };
}

async function dbsize(entry: SandboxServer): Promise<number> {
  const client = connect(entry);
  try {
    return await client.dbsize();
  } finally {
    client.disconnect();
  }
}

async function waitForSync(entry: SandboxServer, keys: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await dbsize(entry).catch(() => -1)) === keys) return;
    await sleep(50);
  }
  throw new Error(`${entry.name} did not catch up`);
}

async function waitForLinkDown(entry: SandboxServer): Promise<void> {
  const client = connect(entry);
  try {
    for (let i = 0; i < 200; i++) {
      if ((await client.info("replication")).includes("master_link_status:down")) return;
      await sleep(50);
    }
  } finally {
    client.disconnect();
  }
}

async function stop(entry: SandboxServer): Promise<void> {
  if ((await readPid(entry)) === undefined) return;
  const client = connect(entry);
  await client.call("SHUTDOWN", "NOSAVE").catch(() => undefined);
  client.disconnect();
  await killServer(entry);
}

demo().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `demo failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
