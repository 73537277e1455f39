import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { ClusterConfig } from "../config/inventory.js";

/**
 * Maps the addresses Redis reports (a replica's master_host, a master's replica ip) back to
 * inventory host names. Inventories often use DNS names while Redis reports IPs, so names are
 * resolved once per discovery.
 */
export class EndpointNames {
  readonly #byEndpoint = new Map<string, string>();

  static async build(cluster: ClusterConfig, resolveTimeoutMs = 1_000): Promise<EndpointNames> {
    const names = new EndpointNames();
    await Promise.all(
      cluster.hosts.map(async (host) => {
        names.#add(host.redis.host, host.redis.port, host.name);
        if (isIP(host.redis.host)) return;
        for (const address of await resolveAll(host.redis.host, resolveTimeoutMs)) {
          names.#add(address, host.redis.port, host.name);
        }
      }),
    );
    return names;
  }

  nameOf(host: string, port: number): string | undefined {
    return this.#byEndpoint.get(key(host, port));
  }

  #add(host: string, port: number, name: string): void {
    this.#byEndpoint.set(key(host, port), name);
  }
}

function key(host: string, port: number): string {
  return `${host.toLowerCase()}:${port}`;
}

async function resolveAll(hostname: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(hostname, { all: true }),
      new Promise<[]>((resolve) => {
        timer = setTimeout(() => resolve([]), timeoutMs);
      }),
    ]);
    return found.map((entry) => entry.address);
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}
