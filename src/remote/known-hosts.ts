import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * OpenSSH known_hosts parsing and host key checking, following sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT": host lists, [host]:port, hashed names, * and ? wildcards, !negation, @revoked.
 * @cert-authority lines are kept (so callers can report them) but never match a host key.
 */

export type KnownHostMarker = "revoked" | "cert-authority";

export interface HostPattern {
  pattern: string;
  negated: boolean;
}

export type KnownHostNames =
  | { hashed: true; salt: Buffer; hash: Buffer }
  | { hashed: false; patterns: HostPattern[] };

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker: KnownHostMarker | null;
  names: KnownHostNames;
  keyType: string;
  /** The public key blob (the base64-decoded key field). */
  key: Buffer;
}

export interface HostKey {
  keyType: string;
  key: Buffer;
}

export type HostKeyCheck =
  | { status: "match"; entry: KnownHostEntry }
  | { status: "revoked"; entry: KnownHostEntry }
  /** The host has keys of the presented type, none equal to it. */
  | { status: "changed"; expected: KnownHostEntry[] }
  /** No key of the presented type for this host; `otherKeys` lists keys of other types. */
  | { status: "unknown"; otherKeys: KnownHostEntry[] };

const HASH_MAGIC = "|1|";

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const entry = parseLine(raw, index + 1);
    if (entry) entries.push(entry);
  });
  return entries;
}

function parseLine(raw: string, line: number): KnownHostEntry | undefined {
  const text = raw.trim();
  if (text === "" || text.startsWith("#")) return undefined;
  const fields = text.split(/[ \t]+/);
  let marker: KnownHostMarker | null = null;
  if (fields[0]?.startsWith("@")) {
    const word = fields.shift();
    if (word === "@revoked") marker = "revoked";
    else if (word === "@cert-authority") marker = "cert-authority";
    else return undefined; // unknown marker: OpenSSH ignores the line too
  }
  const [hostField, keyType, keyField] = fields;
  if (!hostField || !keyType || !keyField) return undefined;
  const names = parseNames(hostField);
  if (!names) return undefined;
  const key = decodeBase64Strict(keyField);
  if (!key || blobKeyType(key) !== keyType) return undefined;
  return { line, marker, names, keyType, key };
}

function parseNames(field: string): KnownHostNames | undefined {
  if (field.startsWith(HASH_MAGIC)) {
    const [salt64, hash64, ...rest] = field.slice(HASH_MAGIC.length).split("|");
    if (salt64 === undefined || hash64 === undefined || rest.length > 0) return undefined;
    const salt = decodeBase64Strict(salt64);
    const hash = decodeBase64Strict(hash64);
    if (!salt || !hash || salt.length !== 20 || hash.length !== 20) return undefined;
    return { hashed: true, salt, hash };
  }
  const patterns = field
    .split(",")
    .filter((p) => p !== "")
    .map((p) =>
      p.startsWith("!") ? { pattern: p.slice(1), negated: true } : { pattern: p, negated: false },
    );
  return patterns.length > 0 ? { hashed: false, patterns } : undefined;
}

function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const buf = Buffer.from(text, "base64");
  return buf.length > 0 ? buf : undefined;
}

/** The key type named inside an SSH public key blob ("ssh-ed25519", ...). */
export function blobKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  if (length === 0 || length > 64 || key.length < 4 + length) return undefined;
  return key.toString("latin1", 4, 4 + length);
}

/** How a host is named in known_hosts: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** OpenSSH's match_pattern: '*' any run of characters, '?' exactly one. */
function globMatches(pattern: string, name: string): boolean {
  const source = [...pattern.toLowerCase()]
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "s").test(name);
}

function namesMatch(names: KnownHostNames, name: string): boolean {
  if (names.hashed) {
    const digest = createHmac("sha1", names.salt).update(name).digest();
    return timingSafeEqual(digest, names.hash);
  }
  let matched = false;
  for (const { pattern, negated } of names.patterns) {
    if (!globMatches(pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** Every entry whose host names match host:port, markers included, in file order. */
export function entriesForHost(
  entries: KnownHostEntry[],
  host: string,
  port: number,
): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  return entries.filter((entry) => namesMatch(entry.names, name));
}

/** The plain (unmarked) keys known_hosts lists for host:port, in file order. */
export function keysForHost(entries: KnownHostEntry[], host: string, port: number): HostKey[] {
  return entriesForHost(entries, host, port)
    .filter((entry) => entry.marker === null)
    .map(({ keyType, key }) => ({ keyType, key }));
}

/** Checks the key a server presented for host:port, as ssh(1) does with StrictHostKeyChecking. */
export function checkHostKey(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  presented: Buffer,
): HostKeyCheck {
  const forHost = entriesForHost(entries, host, port);
  const revoked = forHost.find((e) => e.marker === "revoked" && e.key.equals(presented));
  if (revoked) return { status: "revoked", entry: revoked };
  const plain = forHost.filter((e) => e.marker === null);
  const match = plain.find((e) => e.key.equals(presented));
  if (match) return { status: "match", entry: match };
  const type = blobKeyType(presented);
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0) return { status: "changed", expected: sameType };
  return { status: "unknown", otherKeys: plain };
}

/** "SHA256:<base64, no padding>", exactly as `ssh-keygen -l` prints it. */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}
