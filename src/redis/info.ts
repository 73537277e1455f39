/** Parsers for the text replies of INFO and friends; pure functions, unit-tested without a server. */

export type InfoFields = ReadonlyMap<string, string>;

/** `INFO` text -> field map (section headers and blank lines dropped). */
export function parseInfo(text: string): InfoFields {
  const fields = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** `a=1,b=x` (replica lines, keyspace lines) -> map. */
export function parseKeyValueList(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of value.split(",")) {
    const eq = pair.indexOf("=");
    if (eq > 0) out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

export function intField(fields: InfoFields, name: string): number | undefined {
  const value = fields.get(name);
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

export interface ConnectedReplica {
  ip: string;
  port: number;
  state: string;
  offset: number;
  lag: number;
}

/** The `slaveN:ip=...,port=...,state=online,offset=...,lag=...` lines of a master's INFO replication. */
export function connectedReplicas(fields: InfoFields): ConnectedReplica[] {
  const replicas: ConnectedReplica[] = [];
  for (const [key, value] of fields) {
    if (!/^slave\d+$/.test(key)) continue;
    const entry = parseKeyValueList(value);
    replicas.push({
      ip: entry.get("ip") ?? "",
      port: Number(entry.get("port") ?? 0),
      state: entry.get("state") ?? "unknown",
      offset: Number(entry.get("offset") ?? 0),
      lag: Number(entry.get("lag") ?? 0),
    });
  }
  return replicas;
}

/** Sum of `keys=` over every `dbN:` line of INFO keyspace. */
export function keyCount(fields: InfoFields): number {
  let total = 0;
  for (const [key, value] of fields) {
    if (!/^db\d+$/.test(key)) continue;
    total += Number(parseKeyValueList(value).get("keys") ?? 0);
  }
  return total;
}

/**
 * The server's flavour and its own version from INFO server: "Redis 7.0.15", "Valkey 8.0.1".
 * Valkey also reports a Redis-compatible `redis_version` (7.2.4), which feature checks keep
 * using; it is recognised by `valkey_version` or `server_name:valkey`.
 */
export function serverFlavour(fields: InfoFields): string | undefined {
  const name = fields.get("server_name")?.trim();
  const valkey = fields.get("valkey_version");
  const redis = fields.get("redis_version");
  if (valkey || name?.toLowerCase() === "valkey") return `Valkey ${valkey ?? redis ?? "?"}`;
  if (name && name.toLowerCase() !== "redis") {
    return `${name[0]?.toUpperCase()}${name.slice(1)} ${redis ?? "?"}`;
  }
  return redis ? `Redis ${redis}` : undefined;
}

/** Redis version "7.0.15" -> comparable tuple check. */
export function versionAtLeast(version: string | undefined, major: number, minor: number): boolean {
  if (!version) return false;
  const [maj = 0, min = 0] = version.split(".").map((part) => Number.parseInt(part, 10));
  return maj > major || (maj === major && min >= minor);
}

/** CONFIG GET's flat [name, value, name, value] reply -> map. */
export function configPairs(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  return out;
}
