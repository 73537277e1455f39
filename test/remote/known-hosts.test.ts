import { execFile } from "node:child_process";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkHostKey,
  entriesForHost,
  fingerprintSha256,
  type KnownHostEntry,
  keysForHost,
  parseKnownHosts,
} from "../../src/remote/known-hosts.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";

const execFileAsync = promisify(execFile);

interface TestKey {
  /** "<type> <base64>" */
  line: string;
  blob: Buffer;
  /** From `ssh-keygen -lf`. */
  fingerprint: string;
}

let temp: TempRoot;
const keys: Record<"a" | "b" | "c" | "ecdsa" | "rsa" | "ca", TestKey> = {} as never;

async function makeKey(name: string, type: string): Promise<TestKey> {
  const file = join(temp.path, name);
  await execFileAsync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", name, "-f", file]);
  const [keyType, base64] = (await readFile(`${file}.pub`, "utf8")).trim().split(/\s+/);
  const { stdout } = await execFileAsync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${file}.pub`]);
  return {
    line: `${keyType} ${base64}`,
    blob: Buffer.from(base64 ?? "", "base64"),
    fingerprint: stdout.split(/\s+/)[1] ?? "",
  };
}

/** How `ssh-keygen -F` (OpenSSH's own matching) answers: the lines found, with their marker. */
async function openSshLookup(file: string, host: string, port: number) {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const { stdout } = await execFileAsync("ssh-keygen", ["-F", name, "-f", file]).catch(
    (error: { code?: number; stdout?: string }) => {
      if (error.code === 1) return { stdout: "" }; // not found
      throw error;
    },
  );
  return [...stdout.matchAll(/^# Host \S+ found: line (\d+) ?(REVOKED|CA)?$/gm)].map((m) => ({
    line: Number(m[1]),
    marker: m[2] === "REVOKED" ? "revoked" : m[2] === "CA" ? "cert-authority" : null,
  }));
}

function summary(entries: KnownHostEntry[]) {
  return entries.map((e) => ({ line: e.line, marker: e.marker }));
}

beforeAll(async () => {
  temp = await makeTempRoot("known-hosts");
  const made = await Promise.all([
    makeKey("a", "ed25519"),
    makeKey("b", "ed25519"),
    makeKey("c", "ed25519"),
    makeKey("ecdsa", "ecdsa"),
    makeKey("rsa", "rsa"),
    makeKey("ca", "ed25519"),
  ]);
  [keys.a, keys.b, keys.c, keys.ecdsa, keys.rsa, keys.ca] = made as [
    TestKey,
    TestKey,
    TestKey,
    TestKey,
    TestKey,
    TestKey,
  ];
});

afterAll(async () => {
  await temp?.cleanup();
});

describe("fingerprintSha256", () => {
  it("prints exactly what ssh-keygen -lf prints, for ed25519, ecdsa and rsa keys", () => {
    for (const key of [keys.a, keys.ecdsa, keys.rsa]) {
      expect(fingerprintSha256(key.blob)).toBe(key.fingerprint);
    }
  });
});

describe("parseKnownHosts and keysForHost, checked against ssh-keygen -F", () => {
  // Every form the file format allows, each on its own line so a mismatch names it.
  const validLines = () => [
    "# comment line",
    "",
    `db1.example.com,10.0.0.1 ${keys.a.line} plain host list`,
    `[db2.example.com]:2222 ${keys.b.line}`,
    `[10.0.0.9]:2222,10.0.0.9 ${keys.c.line}`,
    `*.cache.example.com,!bad.cache.example.com ${keys.ecdsa.line}`,
    `redis-?.example.com ${keys.rsa.line}`,
    `  \tDB3.Example.COM ${keys.a.line}`,
    `@revoked * ${keys.b.line}`,
    `@cert-authority *.example.com ${keys.ca.line}`,
  ];
  // ssh-keygen -H refuses to hash a file with these; they are appended after hashing.
  const invalidLines = () => [
    "not-a-valid-line",
    `broken.example.com ssh-ed25519 !!notbase64!!`,
    `mismatch.example.com ssh-rsa ${keys.a.line.split(" ")[1]}`,
    `@unknown-marker db1.example.com ${keys.c.line}`,
  ];
  const knownHosts = () => [...validLines(), ...invalidLines()].join("\n");

  const queries: Array<[string, number]> = [
    ["db1.example.com", 22],
    ["10.0.0.1", 22],
    ["db1.example.com", 2222],
    ["db2.example.com", 2222],
    ["db2.example.com", 22],
    ["10.0.0.9", 2222],
    ["10.0.0.9", 22],
    ["a.cache.example.com", 22],
    ["x.y.cache.example.com", 22],
    ["cache.example.com", 22],
    ["bad.cache.example.com", 22],
    ["redis-1.example.com", 22],
    ["redis-10.example.com", 22],
    ["db3.example.com", 22],
    ["nowhere.example.org", 22],
    ["broken.example.com", 22],
    ["mismatch.example.com", 22],
  ];

  it("finds the same entries as OpenSSH for every host, plain and hashed with ssh-keygen -H", async () => {
    const plainFile = join(temp.path, "known_hosts");
    const hashedFile = join(temp.path, "known_hosts_hashed");
    await writeFile(plainFile, knownHosts());
    await writeFile(hashedFile, `${validLines().join("\n")}\n`);
    await execFileAsync("ssh-keygen", ["-H", "-f", hashedFile]);
    const hashedText = await readFile(hashedFile, "utf8");
    expect(hashedText).toMatch(/^\|1\|[^|]+\|[^| ]+ ssh-ed25519 /m); // really hashed
    expect(hashedText).not.toContain("db1.example.com");
    await appendFile(hashedFile, `${invalidLines().join("\n")}\n`);

    // -H writes one line per name, so the hashed file's valid part is longer.
    const validCount = new Map([
      [plainFile, validLines().length],
      [hashedFile, hashedText.trimEnd().split("\n").length],
    ]);
    for (const [file, valid] of validCount) {
      let hostsFound = 0;
      const entries = parseKnownHosts(await readFile(file, "utf8"));
      for (const [host, port] of queries) {
        const ours = summary(entriesForHost(entries, host, port));
        // ssh-keygen -F also reports lines whose key does not parse; those can never match.
        const openssh = (await openSshLookup(file, host, port)).filter(
          (found) => found.line <= valid,
        );
        expect({ file, host, port, found: ours }).toEqual({ file, host, port, found: openssh });
        if (ours.some((e) => e.marker === null)) hostsFound++;
      }
      expect(hostsFound).toBe(9); // the comparison is not vacuous
    }
  });

  it("skips comments, blank, malformed and unknown-marker lines, keeping line numbers", () => {
    const entries = parseKnownHosts(knownHosts());
    expect(entries.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("keysForHost returns only unmarked keys: no @revoked, no @cert-authority", () => {
    const entries = parseKnownHosts(knownHosts());
    const found = keysForHost(entries, "db1.example.com", 22);
    expect(found).toEqual([{ keyType: "ssh-ed25519", key: keys.a.blob }]);
    expect(keysForHost(entries, "db2.example.com", 2222)).toEqual([
      { keyType: "ssh-ed25519", key: keys.b.blob },
    ]);
  });

  it("matches [host]:port entries only on that port, and plain entries only on port 22", () => {
    const entries = parseKnownHosts(knownHosts());
    expect(keysForHost(entries, "db2.example.com", 2222)).toHaveLength(1);
    expect(keysForHost(entries, "db2.example.com", 22)).toEqual([]);
    expect(keysForHost(entries, "db1.example.com", 2222)).toEqual([]);
  });

  it("honours * and ? wildcards and !negation", () => {
    const entries = parseKnownHosts(knownHosts());
    const types = (host: string) => keysForHost(entries, host, 22).map((k) => k.keyType);
    expect(types("a.cache.example.com")).toEqual(["ecdsa-sha2-nistp256"]);
    expect(types("bad.cache.example.com")).toEqual([]);
    expect(types("cache.example.com")).toEqual([]);
    expect(types("redis-1.example.com")).toEqual(["ssh-rsa"]);
    expect(types("redis-10.example.com")).toEqual([]);
  });
});

describe("checkHostKey", () => {
  const file = () =>
    parseKnownHosts(
      [
        `[10.1.0.1]:2222 ${keys.a.line}`,
        `[10.1.0.1]:2222 ${keys.ecdsa.line}`,
        `@revoked [10.1.0.1]:2222 ${keys.c.line}`,
        `@cert-authority * ${keys.ca.line}`,
        `10.1.0.2 ${keys.rsa.line}`,
      ].join("\n"),
    );

  it("match: the presented key is listed for the host", () => {
    expect(checkHostKey(file(), "10.1.0.1", 2222, keys.a.blob)).toMatchObject({
      status: "match",
      entry: { line: 1 },
    });
    expect(checkHostKey(file(), "10.1.0.1", 2222, keys.ecdsa.blob)).toMatchObject({
      status: "match",
      entry: { line: 2 },
    });
  });

  it("changed: another key of the same type is listed", () => {
    const result = checkHostKey(file(), "10.1.0.1", 2222, keys.b.blob);
    expect(result.status).toBe("changed");
    expect(result.status === "changed" && result.expected.map((e) => e.line)).toEqual([1]);
  });

  it("unknown: no key of that type for the host, reporting the other types listed", () => {
    const result = checkHostKey(file(), "10.1.0.2", 22, keys.a.blob);
    expect(result.status).toBe("unknown");
    expect(result.status === "unknown" && result.otherKeys.map((e) => e.keyType)).toEqual([
      "ssh-rsa",
    ]);
    expect(checkHostKey(file(), "10.9.9.9", 22, keys.a.blob)).toEqual({
      status: "unknown",
      otherKeys: [],
    });
  });

  it("revoked: a key marked @revoked for the host is refused", () => {
    expect(checkHostKey(file(), "10.1.0.1", 2222, keys.c.blob)).toMatchObject({
      status: "revoked",
      entry: { line: 3, marker: "revoked" },
    });
  });

  it("revoked wins even when the same key is also listed as a plain entry", () => {
    const entries = parseKnownHosts(`10.1.0.3 ${keys.a.line}\n@revoked * ${keys.a.line}\n`);
    expect(checkHostKey(entries, "10.1.0.3", 22, keys.a.blob).status).toBe("revoked");
  });

  it("@cert-authority keys are never a match (certificates are not supported)", () => {
    expect(checkHostKey(file(), "10.1.0.1", 2222, keys.ca.blob).status).not.toBe("match");
    expect(checkHostKey(file(), "10.9.9.9", 22, keys.ca.blob).status).toBe("unknown");
  });
});
