/** The few redis.conf directives preflight needs, read from the file while Redis is down. */
export interface RedisConfSettings {
  appendonly?: boolean;
  dir?: string;
  dbfilename?: string;
  appendfilename?: string;
  appenddirname?: string;
  replicaof?: string;
}

export function parseRedisConf(text: string): RedisConfSettings {
  const settings: RedisConfSettings = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const name = (match[1] ?? "").toLowerCase();
    const value = unquote((match[2] ?? "").trim());
    // Later directives override earlier ones, as in Redis.
    switch (name) {
      case "appendonly":
        settings.appendonly = value.toLowerCase() === "yes";
        break;
      case "dir":
      case "dbfilename":
      case "appendfilename":
      case "appenddirname":
        settings[name] = value;
        break;
      case "replicaof":
      case "slaveof":
        settings.replicaof = value;
        break;
    }
  }
  return settings;
}

function unquote(value: string): string {
  const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return quoted ? (quoted[1] ?? "") : value;
}
