import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { argv, quote, type ShellCommand, sequence, sh } from "../../src/remote/shell.js";

/** Local /bin/sh only: proves what a POSIX shell makes of the commands these functions build. */
const dir = mkdtempSync(join(tmpdir(), "rfb-unit-shell-"));
const pwned = join(dir, "pwned");

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a command with /bin/sh -c in the temp dir and returns stdout. */
function run(command: ShellCommand): string {
  return execFileSync("/bin/sh", ["-c", command], { cwd: dir, encoding: "utf8" });
}

/** The arguments the shell passed to printf, one per NUL-terminated field. */
function argumentsOf(stdout: string): string[] {
  expect(stdout.endsWith("\0")).toBe(true);
  return stdout.slice(0, -1).split("\0");
}

const HOSTILE = [
  "",
  " ",
  "two  spaces",
  "it's",
  "'",
  "''",
  `"double" and 'single'`,
  `$(touch ${pwned})`,
  `\`touch ${pwned}\``,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${HOME} the shell must not expand
  "$HOME ${HOME} $1 $@ $$ $?",
  "line 1\nline 2\n",
  "\n",
  "tab\there",
  "cr\rhere",
  "back\\slash \\' \\\\",
  "glob * ? [a-z] {a,b}",
  "~",
  "~root/x",
  `semi; touch ${pwned}`,
  `pipe | touch ${pwned} && true || false &`,
  `> ${pwned}`,
  "-n",
  "-rf",
  "--",
  "a=b",
  "#not a comment",
  "!history",
  "unicode ✓ € 日本 🎉",
  "\u0001\u001b[31mcontrol\u007f",
];

describe("quote", () => {
  it("leaves plain paths and words bare", () => {
    for (const value of ["/var/lib/redis/dump.rdb", "redis-check-rdb", "a=b", "10.0.0.1:6379"]) {
      expect(quote(value)).toBe(value);
    }
  });

  it("single-quotes anything else, escaping embedded single quotes", () => {
    expect(quote("")).toBe("''");
    expect(quote("a b")).toBe("'a b'");
    expect(quote("it's")).toBe(`'it'\\''s'`);
    expect(quote("~")).toBe("'~'");
  });

  it.each(HOSTILE.map((value) => [JSON.stringify(value), value]))(
    "passes %s through /bin/sh unchanged as one argument",
    (_label, value) => {
      const stdout = run(`printf '%s\\0' ${quote(value)}` as ShellCommand);
      expect(argumentsOf(stdout)).toEqual([value]);
    },
  );

  it("rejects a NUL byte", () => {
    expect(() => quote("a\0b")).toThrow(/NUL/);
  });
});

describe("argv", () => {
  it("passes every hostile value through /bin/sh unchanged, one argument each", () => {
    const stdout = run(`printf '%s\\0' ${argv(HOSTILE)}` as ShellCommand);
    expect(argumentsOf(stdout)).toEqual(HOSTILE);
    expect(existsSync(pwned)).toBe(false);
  });

  it("quotes the program name too", () => {
    expect(run(argv(["printf", "%s|", "a b", "$(echo no)"]))).toBe("a b|$(echo no)|");
  });

  it("rejects a NUL byte in any element", () => {
    expect(() => argv(["ok", "bad\0"])).toThrow(/NUL/);
  });
});

describe("sh", () => {
  it("quotes every interpolated value and keeps the literal parts as code", () => {
    const a = `$(touch ${pwned})`;
    const b = "it's\nhere";
    const stdout = run(sh`printf '%s\\0' ${a} x${b}y ${"-n"}`);
    expect(argumentsOf(stdout)).toEqual([a, `x${b}y`, "-n"]);
    expect(existsSync(pwned)).toBe(false);
  });

  it("interpolates numbers", () => {
    expect(sh`redis-cli -p ${6379} PING`).toBe("redis-cli -p 6379 PING");
  });

  it("builds a command with no values verbatim", () => {
    expect(sh`echo hello`).toBe("echo hello");
  });

  it("reads a file whose name is hostile (cat -- path)", () => {
    const names = ["-n", "it's a file", "$(id)", "semi;colon", "unicode ✓", "line\nbreak"];
    for (const name of names) {
      writeFileSync(join(dir, name), `content of ${name}`);
      expect(run(sh`cat -- ${name}`)).toBe(`content of ${name}`);
    }
    expect(readdirSync(dir).sort()).toEqual([...names].sort());
    for (const name of names) rmSync(join(dir, name));
  });

  it("rejects a NUL byte in an interpolated value", () => {
    expect(() => sh`cat -- ${"/tmp/a\0b"}`).toThrow(/NUL/);
  });
});

describe("sequence", () => {
  it("runs the commands in order, each with its own arguments intact", () => {
    const stdout = run(
      sequence(sh`printf '%s\\0' ${"one; two"}`, sh`printf '%s\\0' ${"$(three)"} ${""}`),
    );
    expect(argumentsOf(stdout)).toEqual(["one; two", "$(three)", ""]);
  });

  it("runs the next command even when one fails", () => {
    const result = spawnSync("/bin/sh", ["-c", sequence(sh`false`, sh`printf '%s' ${"after"}`)], {
      encoding: "utf8",
    });
    expect(result.stdout).toBe("after");
    expect(result.status).toBe(0);
  });

  it("joins with '; '", () => {
    expect(sequence(sh`a`, sh`b ${"c d"}`)).toBe("a; b 'c d'");
  });
});
