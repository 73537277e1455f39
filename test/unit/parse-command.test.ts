import { describe, expect, it } from "vitest";
import { parseSlashCommand } from "../../src/slack/parse-command.js";

describe("/redis command parsing", () => {
  it.each([
    ["", { kind: "help" }],
    ["help", { kind: "help" }],
    ["status cache-prod", { kind: "status", cluster: "cache-prod" }],
    ["history cache-prod", { kind: "history", cluster: "cache-prod" }],
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
    ["failover", "`failover` needs a cluster name"],
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
    expect(parseSlashCommand(text)).toEqual({ ok: false, error: message });
  });
});
