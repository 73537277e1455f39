import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { serverVersion } from "./redis-server.js";

/** A server implementation the harness can run machines on. */
export interface ServerFlavour {
  /** As the bot names it in `status` and plans: "Redis", "Valkey". */
  name: string;
  /** The server program as a machine runs it from its PATH (the inventory's start: command). */
  server: string;
  /** The program the harness itself starts: an absolute path, or a name on the test's PATH. */
  serverPath: string;
  /** Put first on the PATH of SSH sessions, like an installed package's /usr/bin; none for the system's. */
  binDir?: string;
}

/** Debian's redis-server (and redis-check-rdb), installed by scripts/ensure-deps.sh. */
export const REDIS: ServerFlavour = {
  name: "Redis",
  server: "redis-server",
  serverPath: "redis-server",
};

/** Where scripts/ensure-valkey.sh extracts Debian's valkey-server and valkey-tools packages. */
const VALKEY_ROOT = resolve(import.meta.dirname, "../../.cache/valkey");

/**
 * Valkey from .cache/valkey (valkey-server, valkey-check-rdb, valkey-cli, and no redis-* names,
 * as Debian's packages ship it), or why it is not there.
 */
export function valkey(): ServerFlavour | { unavailable: string } {
  const binDir = join(VALKEY_ROOT, "usr/bin");
  const serverPath = join(binDir, "valkey-server");
  if (existsSync(serverPath))
    return { name: "Valkey", server: "valkey-server", serverPath, binDir };
  const reasonFile = join(VALKEY_ROOT, "UNAVAILABLE");
  const reason = existsSync(reasonFile)
    ? readFileSync(reasonFile, "utf8").trim()
    : "it was never fetched";
  return {
    unavailable: `Valkey is not in ${VALKEY_ROOT}: ${reason} (npm test fetches it with scripts/ensure-valkey.sh)`,
  };
}

/** "Redis 7.0.15", "Valkey 8.0.1": the flavour and its own version, from `<server> --version`. */
export async function flavourVersion(flavour: ServerFlavour): Promise<string> {
  return `${flavour.name} ${(await serverVersion(flavour.serverPath)).join(".")}`;
}

/** The PATH of a machine's SSH sessions: the flavour's programs first, then the system's. */
export function sessionPath(flavour: ServerFlavour): string | undefined {
  return flavour.binDir
    ? `${flavour.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`
    : undefined;
}
