import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalHost } from "../../src/remote/local-host.js";
import { argv, quote, sh } from "../../src/remote/shell.js";
import { SshHost } from "../../src/remote/ssh-host.js";
import type { RemoteHost } from "../../src/remote/types.js";
import { allocateAddressBlock } from "../harness/addresses.js";
import { type SshdHandle, startSshd, stopAllSshd } from "../harness/sshd.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";

/** Arguments a shell would mangle if any quoting were missing. */
const NASTY = [
  "plain",
  "",
  "with  two  spaces",
  "it's",
  "'",
  "''",
  `"double" and 'single'`,
  "$(touch /tmp/rfb-quoting-pwned)",
  "`touch /tmp/rfb-quoting-pwned`",
  `$HOME \${HOME} $1 $@ $$`,
  "line 1\nline 2\n",
  "\n",
  "tab\there",
  "back\\slash \\' \\\\",
  "glob * ? [a-z] {a,b} ~root",
  "semi; echo injected",
  "pipe | cat && true || false &",
  "redirect > /tmp/rfb-quoting-pwned < /dev/null",
  "-n",
  "--",
  "#not a comment",
  "!history",
  "unicode ✓ € 日本",
  "\u0001\u001b[31mcontrol\u007f",
];

let temp: TempRoot;
let sshd: SshdHandle;
const hosts: Record<string, RemoteHost> = {};

beforeAll(async () => {
  temp = await makeTempRoot("shell-quoting");
  sshd = await startSshd({ host: allocateAddressBlock().ip(1) });
  const knownHostsFile = `${temp.path}/known_hosts`;
  await sshd.writeKnownHosts(knownHostsFile);
  hosts.LocalHost = new LocalHost("local-1");
  hosts.SshHost = new SshHost({
    name: "ssh-1",
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.privateKeyFile,
    knownHostsFile,
  });
});

afterAll(async () => {
  await Promise.all(Object.values(hosts).map((host) => host.close()));
  await stopAllSshd();
  await temp?.cleanup();
});

describe.each(["LocalHost", "SshHost"])(
  "quoted arguments reach the command unchanged via %s",
  (kind) => {
    const host = () => hosts[kind] as RemoteHost;

    it("sh`printf %s <value>` prints every value byte for byte", async () => {
      for (const value of NASTY) {
        const result = await host().exec(sh`printf %s ${value}`);
        expect({ value, stdout: result.stdout, code: result.code }).toEqual({
          value,
          stdout: value,
          code: 0,
        });
      }
    });

    it("survives a second shell: sh -c 'printf %s \"$1\"' sh <value>", async () => {
      for (const value of NASTY) {
        const result = await host().exec(sh`sh -c ${'printf %s "$1"'} sh ${value}`);
        expect({ value, stdout: result.stdout }).toEqual({ value, stdout: value });
      }
    });

    it("argv() quotes a whole vector", async () => {
      const result = await host().exec(argv(["printf", "%s\\0", ...NASTY]));
      expect(result.stdout.split("\0")).toEqual([...NASTY, ""]);
    });

    it("no substitution ran", async () => {
      const check = await host().exec(sh`test -e /tmp/rfb-quoting-pwned`);
      expect(check.code).toBe(1);
    });
  },
);

describe("quote", () => {
  it("leaves safe words bare and refuses a NUL byte", () => {
    expect(quote("redis-server")).toBe("redis-server");
    expect(quote("/var/lib/redis/dump.rdb")).toBe("/var/lib/redis/dump.rdb");
    expect(() => quote("a\0b")).toThrow(/NUL/);
  });
});
