import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type ClusterConfig,
  findCluster,
  findHost,
  type HostConfig,
  type Inventory,
  parseInventory,
  type SshConfig,
} from "../../src/config/inventory.js";
import { FailoverError } from "../../src/errors.js";

const PATH = "/etc/rfb/inventory.yml";
const KEY_A = `SHA256:${"A".repeat(43)}`;
const KEY_B = `SHA256:${"b".repeat(42)}+`;

function parse(text: string, path = PATH): Inventory {
  return parseInventory(text, path);
}

/** Parses text that must be rejected; returns the error for inspection. */
function rejected(text: string, path = PATH): FailoverError {
  try {
    parseInventory(text, path);
  } catch (error) {
    if (error instanceof FailoverError) return error;
    throw error;
  }
  throw new Error("expected parseInventory to throw");
}

function clusterOf(inventory: Inventory, name = "x"): ClusterConfig {
  const cluster = inventory.clusters.get(name);
  if (!cluster) throw new Error(`no cluster ${name}`);
  return cluster;
}

function hostOf(inventory: Inventory, name: string, cluster = "x"): HostConfig {
  const host = clusterOf(inventory, cluster).hosts.find((candidate) => candidate.name === name);
  if (!host) throw new Error(`no host ${name}`);
  return host;
}

function sshOf(host: HostConfig): SshConfig {
  if (host.transport.kind !== "ssh") throw new Error(`${host.name} has no ssh transport`);
  return host.transport.ssh;
}

/** Two plain hosts a and b, with `hostA` replacing a's definition when given. */
function twoHosts(hostA = "{ redis: { host: 10.0.0.1 } }", top = "", clusterExtra = ""): string {
  return `${top}
clusters:
  x:${clusterExtra}
    hosts:
      a: ${hostA}
      b: { redis: { host: 10.0.0.2 } }
`;
}

describe("parseInventory: defaults", () => {
  it("defaults redis port to 6379 and dbfilename to dump.rdb", () => {
    const host = hostOf(parse(twoHosts()), "a");
    expect(host.redis).toEqual({ host: "10.0.0.1", port: 6379 });
    expect(host.dbfilename).toBe("dump.rdb");
  });

  it("keeps an explicit redis port and dbfilename", () => {
    const host = hostOf(
      parse(twoHosts("{ redis: { host: 10.0.0.1, port: 7000 }, dbfilename: cache.rdb }")),
      "a",
    );
    expect(host.redis.port).toBe(7000);
    expect(host.dbfilename).toBe("cache.rdb");
  });

  it("fills every timeout with its default when none is given", () => {
    expect(clusterOf(parse(twoHosts())).timeouts).toEqual({
      connectMs: 3_000,
      commandMs: 5_000,
      remoteCommandMs: 120_000,
      snapshotMs: 30 * 60_000,
      copyMs: 2 * 60 * 60_000,
      startMs: 10 * 60_000,
      syncMs: 30 * 60_000,
      failoverMs: 10_000,
    });
  });

  it("keeps the other timeout defaults when only some timeouts are set", () => {
    const timeouts = clusterOf(
      parse(twoHosts(undefined, "", "\n    timeouts: { connectMs: 250, failoverMs: 2000 }")),
    ).timeouts;
    expect(timeouts.connectMs).toBe(250);
    expect(timeouts.failoverMs).toBe(2000);
    expect(timeouts.commandMs).toBe(5_000);
    expect(timeouts.copyMs).toBe(2 * 60 * 60_000);
  });

  it("defaults approvers, channels and snapshot.fallbackToSave", () => {
    const cluster = clusterOf(parse(twoHosts()));
    expect(cluster.approvers).toEqual([]);
    expect(cluster.channels).toEqual([]);
    expect(cluster.snapshot).toEqual({ fallbackToSave: false });
    expect(cluster.discovery).toBeUndefined();
  });

  it("defaults the discovery key to config:redis:<cluster>", () => {
    const inventory = parse(`
clusters:
  cache-eu:
    discovery: { url: "redis://10.0.0.5:6379/0" }
    hosts:
      a: { redis: { host: 10.0.0.1 } }
      b: { redis: { host: 10.0.0.2 } }
`);
    expect(clusterOf(inventory, "cache-eu").discovery).toEqual({
      url: "redis://10.0.0.5:6379/0",
      key: "config:redis:cache-eu",
    });
  });

  it("keeps an explicit discovery key and passwordEnv", () => {
    const cluster = clusterOf(
      parse(
        twoHosts(
          undefined,
          "",
          '\n    discovery: { url: "rediss://cfg:6380/2", key: "clients:master", passwordEnv: CFG_PASS }',
        ),
      ),
    );
    expect(cluster.discovery).toEqual({
      url: "rediss://cfg:6380/2",
      key: "clients:master",
      passwordEnv: "CFG_PASS",
    });
  });

  it("gives a host without ssh: the transport none", () => {
    expect(hostOf(parse(twoHosts()), "a").transport).toEqual({ kind: "none" });
  });

  it("gives a host with transport: local the local transport", () => {
    const host = hostOf(parse(twoHosts("{ redis: { host: 10.0.0.1 }, transport: local }")), "a");
    expect(host.transport).toEqual({ kind: "local" });
  });
});

describe("parseInventory: ssh settings", () => {
  it("merges the top-level ssh defaults into a host's ssh", () => {
    const inventory = parse(
      twoHosts(
        "{ redis: { host: 10.0.0.1 }, ssh: { host: 10.0.1.1 } }",
        `ssh:
  user: deploy
  port: 2222
  privateKeyFile: /keys/id_ed25519
  privateKeyPassphraseEnv: KEY_PASS
  knownHostsFile: /keys/known_hosts
  connectTimeoutMs: 4000`,
      ),
    );
    expect(sshOf(hostOf(inventory, "a"))).toEqual({
      host: "10.0.1.1",
      port: 2222,
      user: "deploy",
      privateKeyFile: "/keys/id_ed25519",
      privateKeyPassphraseEnv: "KEY_PASS",
      knownHostsFile: "/keys/known_hosts",
      connectTimeoutMs: 4000,
    });
  });

  it("lets host-level ssh settings override the top-level defaults", () => {
    const inventory = parse(
      twoHosts(
        "{ redis: { host: 10.0.0.1 }, ssh: { host: 10.0.1.1, user: root, port: 22022, privateKeyFile: /other/key } }",
        `ssh: { user: deploy, port: 2222, privateKeyFile: /keys/id, knownHostsFile: /keys/known_hosts }`,
      ),
    );
    const ssh = sshOf(hostOf(inventory, "a"));
    expect(ssh.user).toBe("root");
    expect(ssh.port).toBe(22022);
    expect(ssh.privateKeyFile).toBe("/other/key");
    expect(ssh.knownHostsFile).toBe("/keys/known_hosts");
  });

  it("defaults the ssh port to 22 and the connect timeout to 10 s", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            `{ redis: { host: 10.0.0.1 }, ssh: { host: h, user: u, privateKeyFile: /k, hostKey: "${KEY_A}" } }`,
          ),
        ),
        "a",
      ),
    );
    expect(ssh.port).toBe(22);
    expect(ssh.connectTimeoutMs).toBe(10_000);
  });

  it("prefers a host-level hostKey over a top-level knownHostsFile", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            `{ redis: { host: 10.0.0.1 }, ssh: { host: h, hostKey: "${KEY_A}" } }`,
            "ssh: { user: u, privateKeyFile: /k, knownHostsFile: /keys/known_hosts }",
          ),
        ),
        "a",
      ),
    );
    expect(ssh.hostKey).toBe(KEY_A);
    expect(ssh).not.toHaveProperty("knownHostsFile");
  });

  it("prefers a host-level knownHostsFile over a top-level hostKey", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            "{ redis: { host: 10.0.0.1 }, ssh: { host: h, knownHostsFile: /host/known_hosts } }",
            `ssh: { user: u, privateKeyFile: /k, hostKey: "${KEY_A}" }`,
          ),
        ),
        "a",
      ),
    );
    expect(ssh.knownHostsFile).toBe("/host/known_hosts");
    expect(ssh).not.toHaveProperty("hostKey");
  });

  it("prefers a host-level hostKey when the host sets both", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            `{ redis: { host: 10.0.0.1 }, ssh: { host: h, hostKey: "${KEY_B}", knownHostsFile: /host/known_hosts } }`,
            "ssh: { user: u, privateKeyFile: /k }",
          ),
        ),
        "a",
      ),
    );
    expect(ssh.hostKey).toBe(KEY_B);
    expect(ssh).not.toHaveProperty("knownHostsFile");
  });

  it("uses the top-level hostKey over the top-level knownHostsFile when the host sets neither", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            "{ redis: { host: 10.0.0.1 }, ssh: { host: h } }",
            `ssh: { user: u, privateKeyFile: /k, hostKey: "${KEY_A}", knownHostsFile: /keys/known_hosts }`,
          ),
        ),
        "a",
      ),
    );
    expect(ssh.hostKey).toBe(KEY_A);
    expect(ssh).not.toHaveProperty("knownHostsFile");
  });

  it("expands ~/ in key and known_hosts paths to the home directory", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            "{ redis: { host: 10.0.0.1 }, ssh: { host: h, user: u, privateKeyFile: ~/.ssh/id_ed25519, knownHostsFile: ~/.ssh/known_hosts } }",
          ),
        ),
        "a",
      ),
    );
    expect(ssh.privateKeyFile).toBe(join(homedir(), ".ssh/id_ed25519"));
    expect(ssh.knownHostsFile).toBe(join(homedir(), ".ssh/known_hosts"));
  });

  it("resolves relative key and known_hosts paths against the inventory's folder", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            "{ redis: { host: 10.0.0.1 }, ssh: { host: h, user: u, privateKeyFile: keys/id, knownHostsFile: ../known_hosts } }",
          ),
          "/srv/ops/rfb/inventory.yml",
        ),
        "a",
      ),
    );
    expect(ssh.privateKeyFile).toBe("/srv/ops/rfb/keys/id");
    expect(ssh.knownHostsFile).toBe("/srv/ops/known_hosts");
  });

  it("resolves a relative top-level known_hosts file against the inventory's folder too", () => {
    const ssh = sshOf(
      hostOf(
        parse(
          twoHosts(
            "{ redis: { host: 10.0.0.1 }, ssh: { host: h } }",
            "ssh: { user: u, privateKeyFile: ./id, knownHostsFile: known_hosts }",
          ),
          "/srv/ops/inventory.yml",
        ),
        "a",
      ),
    );
    expect(ssh.privateKeyFile).toBe("/srv/ops/id");
    expect(ssh.knownHostsFile).toBe("/srv/ops/known_hosts");
  });

  it("resolves a relative tls caFile against the inventory's folder", () => {
    const cluster = clusterOf(
      parse(
        twoHosts(undefined, "", "\n    tls: { caFile: certs/ca.pem, servername: redis.internal }"),
        "/srv/ops/inventory.yml",
      ),
    );
    expect(cluster.tls).toEqual({ caFile: "/srv/ops/certs/ca.pem", servername: "redis.internal" });
  });

  it("does not rewrite a host's remote data dir (it is a path on that host)", () => {
    const host = hostOf(parse(twoHosts("{ redis: { host: 10.0.0.1 }, dir: data/redis }")), "a");
    expect(host.dir).toBe("data/redis");
  });
});

describe("parseInventory: errors name the bad field", () => {
  it("uses the code CONFIG_INVALID and names the inventory file", () => {
    const error = rejected(twoHosts("{ redis: { host: 10.0.0.1, port: 0 } }"));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain(`inventory ${PATH} is invalid`);
  });

  it("rejects a misspelt key, naming its object and the key", () => {
    const error = rejected(twoHosts("{ redis: { host: 10.0.0.1, prot: 6380 } }"));
    expect(error.message).toContain('clusters.x.hosts.a.redis: Unrecognized key: "prot"');
  });

  it("rejects a misspelt host-level key", () => {
    const error = rejected(twoHosts("{ redis: { host: 10.0.0.1 }, dbfilenme: x.rdb }"));
    expect(error.message).toContain('clusters.x.hosts.a: Unrecognized key: "dbfilenme"');
  });

  it("rejects a misspelt top-level key", () => {
    const error = rejected(twoHosts(undefined, "shh: { user: u }"));
    expect(error.message).toContain('(top level): Unrecognized key: "shh"');
  });

  it("rejects a misspelt ssh key", () => {
    const error = rejected(twoHosts(undefined, "ssh: { usr: root }"));
    expect(error.message).toContain('ssh: Unrecognized key: "usr"');
  });

  it("rejects a port given as a string at clusters.x.hosts.a.redis.port", () => {
    const error = rejected(twoHosts('{ redis: { host: 10.0.0.1, port: "6379" } }'));
    expect(error.message).toMatch(
      /- clusters\.x\.hosts\.a\.redis\.port: .*expected number, received string/,
    );
  });

  it("rejects an out-of-range port", () => {
    const error = rejected(twoHosts("{ redis: { host: 10.0.0.1, port: 70000 } }"));
    expect(error.message).toContain("- clusters.x.hosts.a.redis.port:");
  });

  it("rejects approvers given as a string instead of a list", () => {
    const error = rejected(twoHosts(undefined, "", "\n    approvers: U123"));
    expect(error.message).toMatch(/- clusters\.x\.approvers: .*expected array/);
  });

  it("rejects a cluster with one host", () => {
    const error = rejected(`
clusters:
  x:
    hosts:
      a: { redis: { host: 10.0.0.1 } }
`);
    expect(error.message).toContain("- clusters.x.hosts: a cluster needs at least two hosts");
  });

  it("rejects two hosts of one cluster with the same redis endpoint", () => {
    const error = rejected(`
clusters:
  x:
    hosts:
      a: { redis: { host: 10.0.0.1 } }
      b: { redis: { host: 10.0.0.1, port: 6379 } }
`);
    expect(error.message).toContain(
      "- clusters.x.hosts.b.redis: 10.0.0.1:6379 is also used by host a",
    );
  });

  it("allows the same address on different ports", () => {
    const inventory = parse(`
clusters:
  x:
    hosts:
      a: { redis: { host: 10.0.0.1 } }
      b: { redis: { host: 10.0.0.1, port: 6380 } }
`);
    expect(clusterOf(inventory).hosts.map((host) => host.redis.port)).toEqual([6379, 6380]);
  });

  it("allows the same endpoint in two different clusters", () => {
    const inventory = parse(`
clusters:
  x:
    hosts:
      a: { redis: { host: 10.0.0.1 } }
      b: { redis: { host: 10.0.0.2 } }
  y:
    hosts:
      a: { redis: { host: 10.0.0.1 } }
      b: { redis: { host: 10.0.0.2 } }
`);
    expect([...inventory.clusters.keys()]).toEqual(["x", "y"]);
  });

  it("rejects ssh without a user, naming clusters.x.hosts.a.ssh.user", () => {
    const error = rejected(
      twoHosts(
        "{ redis: { host: 10.0.0.1 }, ssh: { host: h, privateKeyFile: /k, knownHostsFile: /kh } }",
      ),
    );
    expect(error.message).toContain("- clusters.x.hosts.a.ssh.user: required");
    expect(error.message).not.toContain("privateKeyFile: required");
  });

  it("rejects ssh without a privateKeyFile, naming clusters.x.hosts.a.ssh.privateKeyFile", () => {
    const error = rejected(
      twoHosts("{ redis: { host: 10.0.0.1 }, ssh: { host: h, user: u, knownHostsFile: /kh } }"),
    );
    expect(error.message).toContain("- clusters.x.hosts.a.ssh.privateKeyFile: required");
    expect(error.message).not.toContain("ssh.user: required");
  });

  it("rejects ssh with neither knownHostsFile nor hostKey", () => {
    const error = rejected(
      twoHosts("{ redis: { host: 10.0.0.1 }, ssh: { host: h, user: u, privateKeyFile: /k } }"),
    );
    expect(error.message).toContain(
      "- clusters.x.hosts.a.ssh: host keys are always verified; set knownHostsFile or hostKey",
    );
  });

  it("accepts ssh whose user, key and known_hosts all come from the top-level defaults", () => {
    const inventory = parse(
      twoHosts(
        "{ redis: { host: 10.0.0.1 }, ssh: { host: h } }",
        "ssh: { user: u, privateKeyFile: /k, knownHostsFile: /kh }",
      ),
    );
    expect(sshOf(hostOf(inventory, "a")).user).toBe("u");
  });

  it("rejects a malformed hostKey at clusters.x.hosts.a.ssh.hostKey", () => {
    const error = rejected(
      twoHosts(
        '{ redis: { host: 10.0.0.1 }, ssh: { host: h, user: u, privateKeyFile: /k, hostKey: "MD5:16:27:ac:a5" } }',
      ),
    );
    expect(error.message).toContain(
      '- clusters.x.hosts.a.ssh.hostKey: must look like "SHA256:" followed by 43 base64 characters',
    );
  });

  it("rejects a SHA256 hostKey one character short", () => {
    const error = rejected(
      twoHosts(
        `{ redis: { host: 10.0.0.1 }, ssh: { host: h, user: u, privateKeyFile: /k, hostKey: "SHA256:${"A".repeat(42)}" } }`,
      ),
    );
    expect(error.message).toContain("- clusters.x.hosts.a.ssh.hostKey:");
  });

  it("rejects a malformed top-level hostKey at ssh.hostKey", () => {
    const error = rejected(twoHosts(undefined, 'ssh: { hostKey: "SHA256:short" }'));
    expect(error.message).toContain("- ssh.hostKey: must look like");
  });

  it("rejects transport: local together with ssh settings", () => {
    const error = rejected(
      twoHosts(
        "{ redis: { host: 10.0.0.1 }, transport: local, ssh: { host: h, user: u, privateKeyFile: /k, knownHostsFile: /kh } }",
      ),
    );
    expect(error.message).toContain(
      '- clusters.x.hosts.a.transport: "local" and ssh cannot both be set',
    );
  });

  it("rejects an unknown transport", () => {
    const error = rejected(twoHosts("{ redis: { host: 10.0.0.1 }, transport: telnet }"));
    expect(error.message).toContain("- clusters.x.hosts.a.transport:");
  });

  it("rejects a cluster env var name that is not one", () => {
    const error = rejected(twoHosts(undefined, "", "\n    redisPasswordEnv: MY-PASS"));
    expect(error.message).toContain(
      "- clusters.x.redisPasswordEnv: must be an environment variable name",
    );
  });

  it("rejects an ssh passphrase env var name starting with a digit", () => {
    const error = rejected(twoHosts(undefined, "ssh: { privateKeyPassphraseEnv: 1PASS }"));
    expect(error.message).toContain(
      "- ssh.privateKeyPassphraseEnv: must be an environment variable name",
    );
  });

  it("rejects a discovery url that is not redis:// or rediss://", () => {
    const error = rejected(twoHosts(undefined, "", '\n    discovery: { url: "http://cfg:6379" }'));
    expect(error.message).toContain("- clusters.x.discovery.url: must be a redis:// or rediss://");
  });

  it("rejects invalid YAML, listing every error at once", () => {
    const error = rejected("clusters: [\n  x: {\n");
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(new RegExp(`^inventory ${PATH} is not valid YAML:\n  - `));
    expect(error.message.split("\n  - ").length).toBeGreaterThan(2);
  });

  it("rejects duplicate YAML keys", () => {
    const error = rejected(`
clusters:
  x:
    hosts:
      a: { redis: { host: 10.0.0.1 } }
      a: { redis: { host: 10.0.0.2 } }
`);
    expect(error.message).toContain("is not valid YAML");
    expect(error.message).toContain("Map keys must be unique");
  });

  it("rejects an inventory with no clusters", () => {
    expect(rejected("clusters: {}\n").message).toContain("- clusters: define at least one cluster");
  });

  it("rejects an empty file, naming the missing clusters key", () => {
    expect(rejected("").message).toMatch(/- clusters: .*expected record/);
  });

  it("lists every problem, not just the first", () => {
    const error = rejected(`
clusters:
  x:
    hosts:
      a: { redis: { host: 10.0.0.1 }, ssh: { host: h, privateKeyFile: /k, knownHostsFile: /kh } }
      b: { redis: { host: 10.0.0.1 } }
`);
    expect(error.message).toContain("- clusters.x.hosts.a.ssh.user: required");
    expect(error.message).toContain(
      "- clusters.x.hosts.b.redis: 10.0.0.1:6379 is also used by host a",
    );
  });
});

describe("findCluster and findHost", () => {
  const inventory = parse(`
clusters:
  cache-prod:
    hosts:
      machine-a: { redis: { host: 10.0.0.1 } }
      machine-b: { redis: { host: 10.0.0.2 } }
  sessions:
    hosts:
      s1: { redis: { host: 10.0.1.1 } }
      s2: { redis: { host: 10.0.1.2 } }
`);

  it("finds a cluster and a host by name", () => {
    const cluster = findCluster(inventory, "sessions");
    expect(cluster.name).toBe("sessions");
    expect(findHost(cluster, "s2").redis.host).toBe("10.0.1.2");
  });

  it("names an unknown cluster and lists the defined ones", () => {
    let error: unknown;
    try {
      findCluster(inventory, "cache-prd");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FailoverError);
    expect((error as FailoverError).code).toBe("UNKNOWN_CLUSTER");
    expect((error as FailoverError).message).toBe(
      `unknown cluster "cache-prd"; the inventory ${PATH} defines: cache-prod, sessions`,
    );
  });

  it("names an unknown host and lists the cluster's hosts", () => {
    let error: unknown;
    try {
      findHost(findCluster(inventory, "cache-prod"), "machine-c");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FailoverError);
    expect((error as FailoverError).code).toBe("UNKNOWN_HOST");
    expect((error as FailoverError).message).toBe(
      'cluster cache-prod has no host "machine-c"; its hosts are: machine-a, machine-b',
    );
  });
});

describe("inventory checks added after review", () => {
  const base = (host: string) =>
    `clusters:\n  c:\n    hosts:\n      a:\n        redis: { host: 10.0.0.1 }\n${host}      b:\n        redis: { host: 10.0.0.2 }\n`;

  it("rejects transport: ssh without ssh settings instead of silently using none", () => {
    expect(() => parseInventory(base("        transport: ssh\n"), "inv.yml")).toThrow(
      /clusters\.c\.hosts\.a\.ssh: transport is "ssh" but the host has no ssh: settings/,
    );
  });

  it("rejects a discovery URL that does not parse, with a hint", () => {
    const text = `${base("")}    discovery: { url: "redis://:Ab3/xY@10.0.0.5:6379/0" }\n`;
    expect(() => parseInventory(text, "inv.yml")).toThrow(
      /clusters\.c\.discovery\.url: is not a valid URL \(percent-encode/,
    );
  });
});

describe("the sentinel: key", () => {
  const withSentinel = (sentinel: string, clusterExtra = "") =>
    twoHosts(undefined, "", `${clusterExtra}\n    sentinel: ${sentinel}`);

  it("reads the Sentinels, defaulting their port to 26379 and the agreement wait to 60 s", () => {
    const cluster = clusterOf(
      parse(
        withSentinel(
          "{ hosts: [{ host: 10.0.0.9 }, { host: 10.0.0.10, port: 26380 }], masterName: mymaster, passwordEnv: SENTINEL_PASS }",
        ),
      ),
    );
    expect(cluster.sentinel).toEqual({
      hosts: [
        { host: "10.0.0.9", port: 26379 },
        { host: "10.0.0.10", port: 26380 },
      ],
      masterName: "mymaster",
      passwordEnv: "SENTINEL_PASS",
      agreeTimeoutMs: 60_000,
    });
  });

  it("uses the cluster's tls: for the Sentinels unless the key gives its own", () => {
    const inherited = clusterOf(
      parse(withSentinel("{ hosts: [{ host: 10.0.0.9 }], masterName: m }", "\n    tls: true")),
    );
    expect(inherited.sentinel?.tls).toBe(true);
    const own = clusterOf(
      parse(
        withSentinel(
          "{ hosts: [{ host: 10.0.0.9 }], masterName: m, tls: false }",
          "\n    tls: true",
        ),
      ),
    );
    expect(own.sentinel?.tls).toBe(false);
  });

  it("leaves sentinel unset when the key is absent", () => {
    expect(clusterOf(parse(twoHosts())).sentinel).toBeUndefined();
  });

  it("rejects an empty hosts list, a missing masterName and a misspelt key, naming each field", () => {
    expect(rejected(withSentinel("{ hosts: [], masterName: m }")).message).toContain(
      "- clusters.x.sentinel.hosts: list at least one Sentinel",
    );
    expect(rejected(withSentinel("{ hosts: [{ host: 10.0.0.9 }] }")).message).toContain(
      "- clusters.x.sentinel.masterName:",
    );
    expect(
      rejected(withSentinel("{ hosts: [{ host: 10.0.0.9 }], masterName: m, quorum: 2 }")).message,
    ).toContain("- clusters.x.sentinel:");
  });

  it("rejects a password given in the inventory instead of an environment variable name", () => {
    expect(
      rejected(
        withSentinel('{ hosts: [{ host: 10.0.0.9 }], masterName: m, passwordEnv: "s3cr3t!" }'),
      ).message,
    ).toContain("- clusters.x.sentinel.passwordEnv: must be an environment variable name");
  });

  it("rejects a master name with spaces, a Sentinel listed twice, and a Sentinel on a host's Redis endpoint", () => {
    expect(
      rejected(withSentinel('{ hosts: [{ host: 10.0.0.9 }], masterName: "my master" }')).message,
    ).toContain("- clusters.x.sentinel.masterName: master names may use");
    expect(
      rejected(
        withSentinel(
          "{ hosts: [{ host: 10.0.0.9 }, { host: 10.0.0.9, port: 26379 }], masterName: m }",
        ),
      ).message,
    ).toContain("- clusters.x.sentinel.hosts: a Sentinel is listed twice");
    expect(
      rejected(withSentinel("{ hosts: [{ host: 10.0.0.1, port: 6379 }], masterName: m }")).message,
    ).toContain("- clusters.x.sentinel.hosts.0: 10.0.0.1:6379 is host a's Redis, not a Sentinel");
  });
});

describe("copy: (how the snapshot travels from the replica to the spare)", () => {
  const direct = (settings: string) => twoHosts(undefined, "", `\n    copy: ${settings}`);

  it("defaults to the relay through the bot", () => {
    expect(clusterOf(parse(twoHosts())).copy).toEqual({ mode: "relay" });
  });

  it("keeps direct mode with the identity and known_hosts files on the replica, unresolved", () => {
    const cluster = clusterOf(
      parse(
        direct("{ mode: direct, identityFile: /etc/rfb/id_b, knownHostsFile: /etc/rfb/known_c }"),
      ),
    );
    expect(cluster.copy).toEqual({
      mode: "direct",
      identityFile: "/etc/rfb/id_b",
      knownHostsFile: "/etc/rfb/known_c",
    });
  });

  it("rejects direct mode without a known_hosts file: C's host key is never trusted on first use", () => {
    const error = rejected(direct("{ mode: direct, identityFile: /etc/rfb/id_b }"));
    expect(error.message).toMatch(/clusters\.x\.copy\.knownHostsFile/);
  });

  it("rejects direct mode without an identity file", () => {
    const error = rejected(direct("{ mode: direct, knownHostsFile: /etc/rfb/known_c }"));
    expect(error.message).toMatch(/clusters\.x\.copy\.identityFile/);
  });

  it("rejects a relative path: it is a path on the replica, where no working directory is known", () => {
    const error = rejected(
      direct("{ mode: direct, identityFile: id_b, knownHostsFile: /etc/rfb/known_c }"),
    );
    expect(error.message).toContain(
      "clusters.x.copy.identityFile: must be an absolute path on the replica",
    );
  });

  it("rejects direct-mode keys in relay mode, and an unknown mode", () => {
    expect(rejected(direct("{ mode: relay, identityFile: /etc/rfb/id_b }")).message).toContain(
      'Unrecognized key: "identityFile"',
    );
    expect(rejected(direct("{ mode: scp }")).message).toMatch(/clusters\.x\.copy\.mode/);
  });
});
