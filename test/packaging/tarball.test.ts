import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rename, stat, symlink, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../harness/addresses.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");

/**
 * `npm pack` and a global install into an empty prefix, done the way npm lays one out:
 * <prefix>/lib/node_modules/<name> with the bins linked from <prefix>/bin. npm's own
 * `install -g --offline` cannot be used here: `npm ci` caches tarballs, not the registry
 * metadata a global install resolves versions from, so it would need the registry. The
 * dependencies come from the repository's node_modules instead, and a separate test checks that
 * everything the packed code imports is a runtime dependency (not only a devDependency).
 */

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) {
      newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
    }
  }
  return newest;
}

/** `prepack` builds dist/; it is skipped when dist/ is newer than every source file. */
async function packArgs(): Promise<string[]> {
  const built = await stat(join(REPO, "dist/.tsbuildinfo")).catch(() => undefined);
  const fresh = built !== undefined && built.mtimeMs >= (await newestMtime(join(REPO, "src")));
  return fresh ? ["--ignore-scripts"] : [];
}

let temp: TempRoot;
let prefix: string;
let packageDir: string;
let packed: string[];

beforeAll(async () => {
  temp = await makeTempRoot("tarball");
  const out = join(temp.path, "out");
  await mkdir(out);
  const { stdout } = await run(
    "npm",
    ["pack", "--silent", "--json", "--pack-destination", out, ...(await packArgs())],
    { cwd: REPO },
  );
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  packed = info.files.map((file) => file.path);
  prefix = join(temp.path, "prefix");
  const lib = join(prefix, "lib/node_modules");
  await mkdir(lib, { recursive: true });
  await mkdir(join(prefix, "bin"));
  await run("tar", ["xzf", join(out, info.filename), "-C", lib]);
  packageDir = join(lib, "redis-failover-bot");
  await rename(join(lib, "package"), packageDir);
  await symlink(join(REPO, "node_modules"), join(packageDir, "node_modules"));
  const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  for (const [name, path] of Object.entries(manifest.bin)) {
    await symlink(relative(join(prefix, "bin"), join(packageDir, path)), join(prefix, "bin", name));
  }
}, 180_000);
afterAll(async () => {
  await temp?.cleanup();
});

const env = (extra: Record<string, string> = {}) => ({
  PATH: `${join(prefix, "bin")}:${process.env.PATH}`,
  HOME: temp.path,
  ...extra,
});

describe("the npm tarball installed into an empty prefix", () => {
  it("holds the compiled code, both bins and the examples, and no sources or tests", () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        "bin/redis-failover.js",
        "bin/redis-failover-bot.js",
        "dist/cli/main.js",
        "dist/slack/main.js",
        "dist/ops/metrics.js",
        "inventory.example.yml",
        ".env.example",
        "package.json",
      ]),
    );
    expect(packed.filter((path) => /^(src|test|bench)\/|\.map$|\.ts$/.test(path))).toEqual([]);
  });

  it("imports only runtime dependencies and Node built-ins", async () => {
    const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(manifest.dependencies), ...builtinModules]);
    const missing = new Set<string>();
    for (const path of packed.filter((file) => file.endsWith(".js"))) {
      const code = await readFile(join(packageDir, path), "utf8");
      for (const [, specifier] of code.matchAll(
        /\bfrom "([^".][^"]*)"|import\("([^".][^"]*)"\)/g,
      )) {
        if (!specifier) continue;
        const bare = specifier.replace(/^node:/, "");
        const name = bare.startsWith("@")
          ? bare.split("/").slice(0, 2).join("/")
          : (bare.split("/")[0] ?? bare);
        if (!allowed.has(name)) missing.add(`${name} (in ${path})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it("redis-failover --help runs from the prefix's bin", async () => {
    const { stdout } = await run("redis-failover", ["--help"], { env: env(), cwd: temp.path });
    expect(stdout).toMatch(/Usage: redis-failover/);
    expect(stdout).toMatch(/failover/);
  });

  it("redis-failover prints a refusal as plain text; JSON log lines only when LOG_LEVEL asks", async () => {
    // Two servers with nothing listening on loopback: the preflight refuses the promote.
    const inventory = join(temp.path, "down.yml");
    const [one, two] = [await freePort("127.0.0.1"), await freePort("127.0.0.1")];
    await writeFile(
      inventory,
      [
        "clusters:",
        "  down:",
        "    approvers: [U0ALICE]",
        "    channels: [C0INCIDENT]",
        "    hosts:",
        `      a: { redis: { host: 127.0.0.1, port: ${one} } }`,
        `      b: { redis: { host: 127.0.0.1, port: ${two} } }`,
        "",
      ].join("\n"),
    );
    const args = ["failover", "down", "--mode", "promote", "--yes", "--inventory", inventory];
    const refuse = (extra: Record<string, string>) =>
      run("redis-failover", args, {
        env: env({ STATE_DIR: join(temp.path, "state"), ...extra }),
      }).then(
        () => undefined,
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    const plain = await refuse({});
    expect(plain?.code).toBe(1);
    expect(plain?.stderr).toMatch(/^Refused: .*no server answers/);
    expect(`${plain?.stdout}${plain?.stderr}`).not.toMatch(/"level":/);
    const logged = await refuse({ LOG_LEVEL: "warn" });
    expect(logged?.stderr).toMatch(/^\{"level":40,.*"msg":"request refused at preflight"\}$/m);
    expect(logged?.stderr).toMatch(/^Refused: /m);
  });

  it("redis-failover-bot --check-config accepts a good configuration and lists every problem of a bad one", async () => {
    const inventory = join(temp.path, "inventory.yml");
    await writeFile(inventory, await readFile(join(packageDir, "inventory.example.yml")));
    const good = await run("redis-failover-bot", ["--check-config"], {
      env: env({
        SLACK_BOT_TOKEN: "xoxb-test",
        SLACK_SIGNING_SECRET: "secret",
        INVENTORY_FILE: inventory,
      }),
      cwd: temp.path,
    });
    expect(good.stdout).toMatch(
      /^configuration OK: HTTP mode on port 3000, inventory .*inventory\.yml/,
    );

    const empty = join(temp.path, "empty");
    await mkdir(empty);
    const bad = await run("redis-failover-bot", ["--check-config"], {
      env: env({ PORT: "http", LOCK_LEASE_SECONDS: "soon", LOG_LEVEL: "loud" }),
      cwd: empty,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad?.code).toBe(2);
    const lines = bad?.stderr.split("\n").filter((line) => line.startsWith("  - ")) ?? [];
    expect(lines).toEqual([
      expect.stringMatching(/^ {2}- SLACK_BOT_TOKEN is missing: .*xoxb-/),
      expect.stringMatching(/^ {2}- PORT must be a TCP port number from 0 to 65535 \(got "http"\)/),
      expect.stringMatching(
        /^ {2}- LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/,
      ),
      expect.stringMatching(
        /^ {2}- LOCK_LEASE_SECONDS must be a positive number of seconds \(got "soon"\)/,
      ),
      expect.stringMatching(/^ {2}- SLACK_SIGNING_SECRET is missing: /),
      expect.stringMatching(
        /^ {2}- cannot read inventory \.\/inventory\.yml: no such file\. Set INVENTORY_FILE/,
      ),
    ]);
    expect(bad?.stderr).not.toMatch(/--inventory|NaN|expected number/);
  });
});
