import { describe, expect, it } from "vitest";
import { parseSlashCommand } from "../../src/slack/parse-command.js";

describe("/redis command parsing", () => {
  it.each([
    ["", { kind: "help" }],
    ["help", { kind: "help" }],
    ["status cache-prod", { kind: "status", cluster: "cache-prod" }],
    ["history cache-prod", { kind: "history", cluster: "cache-prod" }],
    ["failover", { kind: "failover-form" }],
    ["failover cache-prod", { kind: "failover", cluster: "cache-prod", dryRun: false }],
    [
      "failover cache-prod --mode replace --spare machine-c --replica machine-b --dry-run",
      {
        kind: "failover",
        cluster: "cache-prod",
        mode: "replace",
        spare: "machine-c",
        replica: "machine-b",
        dryRun: true,
      },
    ],
    [
      "  failover   cache-prod   --mode=promote ",
      { kind: "failover", cluster: "cache-prod", mode: "promote", dryRun: false },
    ],
    [
      "failover cache-prod \u2014mode switchover",
      { kind: "failover", cluster: "cache-prod", mode: "switchover", dryRun: false },
    ],
  ])("accepts %j", (text, command) => {
    expect(parseSlashCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ["reboot everything", "unknown command `reboot`"],
    ["status", "`status` needs a cluster name"],
    ["status a b", "unexpected `b` after the cluster name"],
    [
      "failover --dry-run",
      "`failover` needs a cluster name (or type `/redis failover` alone to pick one in a form)",
    ],
    [
      "failover cache-prod --spare machine-b --replica machine-b",
      "`--spare` and `--replica` must name different hosts",
    ],
    ["failover cache-prod --mode", "`--mode` needs a value"],
    [
      "failover cache-prod --mode sideways",
      "`--mode sideways` is not a mode; use one of replace, promote, switchover",
    ],
    ["failover cache-prod --force", "unknown flag `--force`"],
    ["failover cache-prod extra", "unexpected `extra` after the cluster name"],
    ["failover cache-prod --spare --dry-run", "`--spare` needs a value"],
    ["failover cache-prod --replica=", "`--replica` needs a host name"],
    ["failover cache-prod --dry-run=yes", "`--dry-run` takes no value"],
    ["help me", "`help` takes no arguments (got `me`)"],
  ])("rejects %j", (text, message) => {
    const parsed = parseSlashCommand(text);
    expect(parsed.ok).toBe(false);
    expect(parsed).toMatchObject({ error: message });
  });

  it("names the field an error is about, for the form to show it there", () => {
    expect(parseSlashCommand("failover cache-prod --mode sideways")).toMatchObject({
      field: "mode",
    });
    expect(parseSlashCommand("failover cache-prod --replica=")).toMatchObject({
      field: "replica",
    });
    expect(parseSlashCommand("failover --dry-run")).toMatchObject({ field: "cluster" });
  });
});
