import { createServer } from "node:net";

/**
 * Each test topology gets its own block of loopback addresses (127.A.B.x), so test files
 * running in parallel never collide and every "machine" has its own IP, as in production.
 * Only loopback addresses are ever produced.
 */
export interface AddressBlock {
  ip(hostIndex: number): string;
}

const usedBlocks = new Set<string>();

export function allocateAddressBlock(): AddressBlock {
  for (;;) {
    const a = 100 + Math.floor(Math.random() * 100);
    const b = 1 + Math.floor(Math.random() * 254);
    const key = `${a}.${b}`;
    if (usedBlocks.has(key)) continue;
    usedBlocks.add(key);
    return {
      ip(hostIndex: number) {
        if (hostIndex < 1 || hostIndex > 254)
          throw new Error(`host index out of range: ${hostIndex}`);
        return `127.${a}.${b}.${hostIndex}`;
      },
    };
  }
}

/** A TCP port that is free on `host` right now (the kernel picks it). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
