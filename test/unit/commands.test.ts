import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  asidePath,
  discoveryValue,
  partialPath,
  redisCommands,
  remote,
  showRedis,
  showShell,
} from "../../src/plan/commands.js";
import type { ShellCommand } from "../../src/remote/shell.js";
import { parseRedisConf } from "../../src/topology/redis-conf.js";

/** The remote commands run for real with the local /bin/sh, in a scratch directory. */
const root = mkdtempSync(join(tmpdir(), "rfb-unit-commands-"));
let dir = root;
let counter = 0;

beforeEach(() => {
  counter += 1;
  dir = join(root, String(counter));
  mkdirSync(dir);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function sh(command: ShellCommand): { status: number | null; stderr: string } {
  const result = spawnSync("/bin/sh", ["-c", command], { cwd: dir, encoding: "utf8" });
  return { status: result.status, stderr: result.stderr };
}

const at = (name: string) => join(dir, name);
const read = (name: string) => readFileSync(at(name), "utf8");

describe("partialPath and asidePath", () => {
  it("puts the run id into the partial copy's name", () => {
    expect(partialPath("/var/lib/redis/dump.rdb", "fo-20240101-abcd")).toBe(
      "/var/lib/redis/dump.rdb.fo-20240101-abcd.partial",
    );
  });

  it("puts the run id into the name a file is kept under", () => {
    expect(asidePath("/var/lib/redis/appendonlydir", "fo-1")).toBe(
      "/var/lib/redis/appendonlydir.before-fo-1",
    );
  });
});

describe("remote.moveAsideIfPresent (run with /bin/sh)", () => {
  it("renames an existing file and exits 0", () => {
    writeFileSync(at("dump.rdb"), "old data");
    const result = sh(remote.moveAsideIfPresent(at("dump.rdb"), at("dump.rdb.before-fo-1")));
    expect(result.status).toBe(0);
    expect(existsSync(at("dump.rdb"))).toBe(false);
    expect(read("dump.rdb.before-fo-1")).toBe("old data");
  });

  it("renames an existing directory (an appendonlydir)", () => {
    mkdirSync(at("appendonlydir"));
    writeFileSync(join(at("appendonlydir"), "appendonly.aof.1.base.rdb"), "aof");
    const result = sh(remote.moveAsideIfPresent(at("appendonlydir"), at("appendonlydir.before-x")));
    expect(result.status).toBe(0);
    expect(read("appendonlydir.before-x/appendonly.aof.1.base.rdb")).toBe("aof");
    expect(existsSync(at("appendonlydir"))).toBe(false);
  });

  it("does nothing and exits 0 when the file is absent", () => {
    writeFileSync(at("dump.rdb.before-fo-1"), "kept from before");
    const result = sh(remote.moveAsideIfPresent(at("dump.rdb"), at("dump.rdb.before-fo-1")));
    expect(result.status).toBe(0);
    expect(read("dump.rdb.before-fo-1")).toBe("kept from before");
    expect(existsSync(at("dump.rdb"))).toBe(false);
  });

  it("refuses to overwrite an existing destination: both files stay and the exit status is non-zero", () => {
    writeFileSync(at("dump.rdb"), "current");
    writeFileSync(at("dump.rdb.before-fo-1"), "kept earlier");
    const result = sh(remote.moveAsideIfPresent(at("dump.rdb"), at("dump.rdb.before-fo-1")));
    expect(result.status).not.toBe(0);
    expect(read("dump.rdb")).toBe("current");
    expect(read("dump.rdb.before-fo-1")).toBe("kept earlier");
  });

  it("refuses to move a directory into an existing destination directory", () => {
    mkdirSync(at("appendonlydir"));
    mkdirSync(at("appendonlydir.before-x"));
    const result = sh(remote.moveAsideIfPresent(at("appendonlydir"), at("appendonlydir.before-x")));
    expect(result.status).not.toBe(0);
    expect(existsSync(at("appendonlydir"))).toBe(true);
    expect(existsSync(at("appendonlydir.before-x/appendonlydir"))).toBe(false);
  });

  it("handles paths with spaces and quotes", () => {
    writeFileSync(at("it's a dump.rdb"), "x");
    const result = sh(remote.moveAsideIfPresent(at("it's a dump.rdb"), at("it's a dump.rdb.old")));
    expect(result.status).toBe(0);
    expect(read("it's a dump.rdb.old")).toBe("x");
  });
});

describe("remote.install and remote.remove (run with /bin/sh)", () => {
  it("install keeps the existing file under the aside name, then moves the copy into place", () => {
    writeFileSync(at("partial"), "new");
    writeFileSync(at("dump.rdb"), "old");
    expect(sh(remote.install(at("partial"), at("dump.rdb"), at("dump.rdb.before-x"))).status).toBe(
      0,
    );
    expect(read("dump.rdb")).toBe("new");
    expect(read("dump.rdb.before-x")).toBe("old");
    expect(existsSync(at("partial"))).toBe(false);
  });

  it("install with no existing file just moves the copy into place", () => {
    writeFileSync(at("partial"), "new");
    expect(sh(remote.install(at("partial"), at("dump.rdb"), at("dump.rdb.before-x"))).status).toBe(
      0,
    );
    expect(read("dump.rdb")).toBe("new");
    expect(existsSync(at("dump.rdb.before-x"))).toBe(false);
  });

  it("install refuses, changing nothing, when the aside name is already taken", () => {
    writeFileSync(at("partial"), "new");
    writeFileSync(at("dump.rdb"), "old");
    writeFileSync(at("dump.rdb.before-x"), "older");
    expect(
      sh(remote.install(at("partial"), at("dump.rdb"), at("dump.rdb.before-x"))).status,
    ).not.toBe(0);
    expect([read("partial"), read("dump.rdb"), read("dump.rdb.before-x")]).toEqual([
      "new",
      "old",
      "older",
    ]);
  });

  it("remove deletes a file and succeeds when it is already gone", () => {
    writeFileSync(at("partial"), "x");
    expect(sh(remote.remove(at("partial"))).status).toBe(0);
    expect(existsSync(at("partial"))).toBe(false);
    expect(sh(remote.remove(at("partial"))).status).toBe(0);
  });

  it("remove treats a name starting with a dash as a file", () => {
    writeFileSync(at("-rf"), "x");
    const result = spawnSync("/bin/sh", ["-c", remote.remove("-rf")], { cwd: dir });
    expect(result.status).toBe(0);
    expect(existsSync(at("-rf"))).toBe(false);
  });
});

describe("remote.disableAof (run with /bin/sh and sed)", () => {
  function disable(conf: string): { after: string; backup: string; status: number | null } {
    writeFileSync(at("redis.conf"), conf);
    const { status } = sh(remote.disableAof(at("redis.conf"), ".before-fo-1"));
    return { after: read("redis.conf"), backup: read("redis.conf.before-fo-1"), status };
  }

  it("switches appendonly yes to no and keeps the original beside it", () => {
    const conf = "port 6379\nappendonly yes\nappendfilename appendonly.aof\n";
    const { after, backup, status } = disable(conf);
    expect(status).toBe(0);
    expect(after).toBe("port 6379\nappendonly no\nappendfilename appendonly.aof\n");
    expect(backup).toBe(conf);
  });

  it.each(['appendonly "yes"', "APPENDONLY YES", "  appendonly\tyes  "])(
    "switches off %j, which parseRedisConf reads as on",
    (line) => {
      expect(parseRedisConf(line).appendonly).toBe(true);
      const { after } = disable(`${line}\n`);
      expect(after).toBe("appendonly no\n");
      expect(parseRedisConf(after).appendonly).toBe(false);
    },
  );

  it("leaves comments and appendonly no alone", () => {
    const conf = "# appendonly yes\nappendonly no\n";
    expect(disable(conf).after).toBe(conf);
  });

  // Redis accepts single-quoted values; parseRedisConf reads this as on, the sed does not match
  // it, so prepare-spare stops with "still says appendonly yes".
  it("switches off appendonly 'yes' (single quotes)", () => {
    const { after } = disable("appendonly 'yes'\n");
    expect(parseRedisConf(after).appendonly).toBe(false);
  });
});

describe("display helpers", () => {
  it("showRedis prefixes the host and masks secrets", () => {
    expect(showRedis("machine-b", redisCommands.replicaOf("10.0.0.13", 6379))).toBe(
      "[machine-b] redis> REPLICAOF 10.0.0.13 6379",
    );
    expect(showRedis("machine-b", ["CONFIG", "SET", "masterauth", "hunter2"])).toBe(
      "[machine-b] redis> CONFIG SET masterauth [redacted]",
    );
  });

  it("showShell prefixes the host and shows the command verbatim", () => {
    expect(showShell("machine-c", remote.sha256("/var/lib/redis/dump.rdb"))).toBe(
      "[machine-c] $ sha256sum -- /var/lib/redis/dump.rdb",
    );
  });

  it("discoveryValue is the JSON clients read", () => {
    expect(JSON.parse(discoveryValue("10.0.0.13", 6379))).toEqual({
      host: "10.0.0.13",
      port: 6379,
    });
  });

  it("failoverTo and the write freeze carry their timeout", () => {
    expect(redisCommands.failoverTo("10.0.0.12", 6379, 5000)).toEqual([
      "FAILOVER",
      "TO",
      "10.0.0.12",
      6379,
      "TIMEOUT",
      5000,
    ]);
    expect(redisCommands.switchoverFreeze("client-pause", 5000)[0]).toEqual([
      "CLIENT",
      "PAUSE",
      5000,
      "WRITE",
    ]);
    expect(redisCommands.switchoverFreeze("refuse-writes", 5000)[0]).toEqual([
      "CONFIG",
      "SET",
      "min-replicas-to-write",
      "2147483647",
    ]);
  });
});

describe("the copy's two sides (run with /bin/sh)", () => {
  const run = (command: ShellCommand, input?: Buffer) =>
    spawnSync("/bin/sh", ["-c", command], { cwd: dir, input: input ?? Buffer.alloc(0) });
  const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
  const hash = createHash("sha256").update(data).digest("hex");
  const receive = (input: Buffer) =>
    run(
      remote.receiveVerified(at("p.partial"), at("dump.rdb"), at("dump.rdb.before"), false),
      input,
    );

  it("sendHashed sends the file once on stdout, its size and SHA-256 on stderr", () => {
    writeFileSync(at("it's.rdb"), data);
    const result = run(remote.sendHashed(at("it's.rdb")));
    expect(result.status).toBe(0);
    expect(result.stdout.equals(data)).toBe(true);
    expect(result.stderr.toString()).toBe(`size ${data.length}\n${hash}  -\n`);
  });

  it("receiveVerified writes exactly <size> bytes, reports them, and installs on 'install'", () => {
    writeFileSync(at("dump.rdb"), "old");
    const input = Buffer.concat([Buffer.from(`${data.length}\n`), data, Buffer.from("install\n")]);
    const result = receive(input);
    expect(result.status).toBe(0);
    expect(result.stdout.toString()).toBe(`tee 0\n${hash}  -\nsize ${data.length}\ninstalled\n`);
    expect(readFileSync(at("dump.rdb")).equals(data)).toBe(true);
    expect(read("dump.rdb.before")).toBe("old");
    expect(existsSync(at("p.partial"))).toBe(false);
  });

  it("receiveVerified removes the partial file on any other verdict, or none", () => {
    const body = Buffer.concat([Buffer.from(`${data.length}\n`), data]);
    for (const ending of ["abort\n", ""]) {
      const result = receive(Buffer.concat([body, Buffer.from(ending)]));
      expect(result.status).toBe(1);
      expect(result.stdout.toString()).toMatch(/not installed\n$/);
      expect(existsSync(at("p.partial"))).toBe(false);
      expect(existsSync(at("dump.rdb"))).toBe(false);
    }
  });

  describe("sendDirect (copy: direct), with a stand-in ssh that runs the target's command here", () => {
    const fakeSsh = () => {
      const bin = at("bin");
      mkdirSync(bin);
      // Records its arguments, then runs the last one (the target's command) as sshd would.
      writeFileSync(
        join(bin, "ssh"),
        `#!/bin/sh\nprintf '%s\\n' "$@" > ${JSON.stringify(at("ssh-args"))}\nfor last; do :; done\nexec /bin/sh -c "$last"\n`,
        { mode: 0o755 },
      );
      return bin;
    };
    const direct = (identityFile: string, knownHostsFile: string) => ({
      user: "root",
      host: "10.0.0.13",
      port: 2222,
      identityFile,
      knownHostsFile,
    });
    const runWithPath = (command: ShellCommand, bin: string, input: Buffer) =>
      spawnSync("/bin/sh", ["-c", command], {
        cwd: dir,
        input,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      });

    it("streams size, bytes and the verdict it reads to the target's command, pinning the host key", () => {
      const bin = fakeSsh();
      writeFileSync(at("src.rdb"), data);
      writeFileSync(at("id key"), "key");
      writeFileSync(at("known hosts"), "[10.0.0.13]:2222 ssh-ed25519 AAAA");
      const receiveCommand = remote.receiveVerified(
        at("p.partial"),
        at("dump.rdb"),
        at("dump.rdb.before"),
        false,
      );
      const command = remote.sendDirect(
        at("src.rdb"),
        direct(at("id key"), at("known hosts")),
        receiveCommand,
      );
      const result = runWithPath(command, bin, Buffer.from("install\n"));
      expect(result.status).toBe(0);
      expect(result.stderr.toString()).toBe(`size ${data.length}\n${hash}  -\n`);
      expect(result.stdout.toString()).toBe(
        `tee 0\n${hash}  -\nsize ${data.length}\ninstalled\nssh-exit 0\n`,
      );
      expect(readFileSync(at("dump.rdb")).equals(data)).toBe(true);
      const args = read("ssh-args").split("\n");
      expect(args).toEqual(
        expect.arrayContaining([
          "StrictHostKeyChecking=yes",
          "BatchMode=yes",
          "GlobalKnownHostsFile=/dev/null",
          `UserKnownHostsFile=${at("known hosts")}`,
          at("id key"),
          "10.0.0.13",
          receiveCommand,
        ]),
      );
    });

    it("refuses a missing identity file by name, and never runs text from a path", () => {
      const bin = fakeSsh();
      writeFileSync(at("src.rdb"), data);
      const hostile = at("id $(touch PWNED) `touch PWNED2` 'q'");
      const result = runWithPath(
        remote.sendDirect(
          at("src.rdb"),
          direct(hostile, at("kh")),
          remote.receiveVerified(at("p"), at("t"), at("a"), false),
        ),
        bin,
        Buffer.from("install\n"),
      );
      expect(result.status).toBe(3);
      expect(result.stderr.toString()).toBe(
        `copy: direct: the identity file ${hostile} is missing or unreadable here\n`,
      );
      expect(existsSync(at("PWNED"))).toBe(false);
      expect(existsSync(at("PWNED2"))).toBe(false);
      expect(existsSync(at("ssh-args"))).toBe(false);
    });
  });

  it("receiveVerified with a short stream reports the short size and installs nothing", () => {
    const result = receive(
      Buffer.concat([Buffer.from(`${data.length}\n`), data.subarray(0, 1000)]),
    );
    expect(result.status).toBe(1);
    expect(result.stdout.toString()).toContain("size 1000\n");
    expect(existsSync(at("dump.rdb"))).toBe(false);
  });
});
