import { readFile } from "node:fs/promises";
import type { ServerHostKeyAlgorithm } from "ssh2";
import { FailoverError } from "../errors.js";
import {
  blobKeyType,
  checkHostKey,
  fingerprintSha256,
  type KnownHostEntry,
  keysForHost,
  knownHostsName,
  parseKnownHosts,
} from "./known-hosts.js";

/** Which host key an SSH connection must present, from known_hosts, a pinned fingerprint, or both. */
export interface HostKeyPolicy {
  /** ssh2's `algorithms.serverHostKey`, or undefined to offer its defaults. */
  readonly algorithms: ServerHostKeyAlgorithm[] | undefined;
  /** undefined when the presented key is accepted, else the error to fail the connection with. */
  check(key: Buffer): FailoverError | undefined;
  /** For a handshake that found no host key algorithm in common with `algorithms`. */
  noCommonAlgorithm(): FailoverError;
}

export interface HostKeyPolicyOptions {
  name: string;
  host: string;
  port: number;
  address: string;
  knownHostsFile?: string | undefined;
  hostKey?: string | undefined;
}

// As OpenSSH does: offer only the algorithms of the key types known for the host, so a server
// that also has other key types cannot cause a false "unknown host key".
const ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
  "ssh-dss": ["ssh-dss"],
};

export const PINNED_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

export function hostKeyAlgorithms(
  keyTypes: Iterable<string>,
): ServerHostKeyAlgorithm[] | undefined {
  const algorithms = new Set<ServerHostKeyAlgorithm>();
  for (const type of keyTypes)
    for (const algorithm of ALGORITHMS[type] ?? []) algorithms.add(algorithm);
  return algorithms.size > 0 ? [...algorithms] : undefined;
}

async function readKnownHosts(file: string): Promise<KnownHostEntry[] | "missing"> {
  try {
    return parseKnownHosts(await readFile(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw new FailoverError(
      "SSH_HOST_KEY_UNKNOWN",
      `Cannot read the known_hosts file ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function describe(key: Buffer): string {
  return `${blobKeyType(key) ?? "unknown-type"} ${fingerprintSha256(key)}`;
}

export async function loadHostKeyPolicy(options: HostKeyPolicyOptions): Promise<HostKeyPolicy> {
  const { name, host, port, address, knownHostsFile, hostKey } = options;
  const who = `${name} (${address})`;
  const khName = knownHostsName(host, port);
  const keyscan = `ssh-keyscan ${port === 22 ? "" : `-p ${port} `}${host}`;
  const pinned = hostKey?.replace(/=$/, "");

  const known = knownHostsFile === undefined ? undefined : await readKnownHosts(knownHostsFile);
  const entries = known === undefined || known === "missing" ? [] : known;
  const knownTypes = new Set(keysForHost(entries, host, port).map((k) => k.keyType));
  const algorithms = known === undefined ? undefined : hostKeyAlgorithms(knownTypes);

  function checkPin(key: Buffer): FailoverError | undefined {
    if (pinned === undefined || fingerprintSha256(key) === pinned) return undefined;
    return new FailoverError(
      "SSH_HOST_KEY_CHANGED",
      `HOST KEY MISMATCH for ${who}: the server presented ${describe(key)}, but the inventory ` +
        `pins hostKey ${pinned}. Someone may be intercepting the connection, or the host was ` +
        `re-keyed. Verify the host's fingerprint out of band (on the host: ssh-keygen -lf ` +
        `/etc/ssh/ssh_host_*_key.pub); if it changed legitimately, update hostKey. The pin ` +
        `must be the fingerprint of the host's ${blobKeyType(key)} key.`,
    );
  }

  function checkKnownHosts(key: Buffer): FailoverError | undefined {
    if (knownHostsFile === undefined) return undefined;
    const file = knownHostsFile;
    const result = checkHostKey(entries, host, port, key);
    const fix =
      `Verify the fingerprint out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), ` +
      `then add it with: ${keyscan} >> ${file}`;
    switch (result.status) {
      case "match":
        return undefined;
      case "revoked":
        return new FailoverError(
          "SSH_HOST_KEY_REVOKED",
          `Host key for ${who} is REVOKED: the server presented ${describe(key)}, which ${file} ` +
            `line ${result.entry.line} marks @revoked. Refusing to connect. The host needs a new ` +
            `host key, verified out of band and added to ${file}.`,
        );
      case "changed": {
        const expected = result.expected
          .map((e) => `${e.keyType} ${fingerprintSha256(e.key)} (line ${e.line})`)
          .join(", ");
        return new FailoverError(
          "SSH_HOST_KEY_CHANGED",
          `HOST KEY CHANGED for ${who}: the server presented ${describe(key)}, but ${file} ` +
            `expects ${expected}. Someone may be intercepting the connection, or the host was ` +
            `reinstalled. If the new key is legitimate (verify it out of band), remove the old ` +
            `entry with: ssh-keygen -R '${khName}' -f ${file}; then add the new one with: ` +
            `${keyscan} >> ${file}`,
        );
      }
      case "unknown": {
        const why =
          known === "missing"
            ? `${file} does not exist`
            : `${file} has no ${blobKeyType(key)} key for ${khName}` +
              (result.otherKeys.length > 0
                ? ` (it lists ${[...new Set(result.otherKeys.map((e) => e.keyType))].join(", ")})`
                : "");
        return new FailoverError(
          "SSH_HOST_KEY_UNKNOWN",
          `Host key for ${who} is not known: the server presented ${describe(key)}, and ${why}. ${fix}`,
        );
      }
    }
  }

  return {
    algorithms,
    check: (key) => checkPin(key) ?? checkKnownHosts(key),
    noCommonAlgorithm: () =>
      new FailoverError(
        "SSH_HOST_KEY_CHANGED",
        `HOST KEY CHANGED for ${who}: the server offers none of the host key types ` +
          `${knownHostsFile} lists for ${khName} (${[...knownTypes].join(", ")}). Someone may be ` +
          `intercepting the connection, or the host was reinstalled. If its keys changed ` +
          `legitimately (verify out of band), remove the old entries with: ssh-keygen -R ` +
          `'${khName}' -f ${knownHostsFile}; then add the new ones with: ${keyscan} >> ${knownHostsFile}`,
      ),
  };
}
