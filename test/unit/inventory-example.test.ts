import { describe, expect, it } from "vitest";
import { loadInventory } from "../../src/config/inventory.js";

describe("inventory.example.yml", () => {
  it("is a valid inventory describing the book's A/B/C cluster", async () => {
    const inventory = await loadInventory("inventory.example.yml");
    const cluster = inventory.clusters.get("cache-prod");
    expect(cluster?.hosts.map((host) => host.name)).toEqual([
      "machine-a",
      "machine-b",
      "machine-c",
    ]);
    expect(cluster?.discovery).toEqual({
      url: "redis://10.0.0.5:6379/0",
      key: "config:redis:cache-prod",
    });
    expect(cluster?.hosts[2]?.transport).toMatchObject({
      kind: "ssh",
      ssh: { user: "root", port: 22, host: "10.0.0.13" },
    });
  });
});
