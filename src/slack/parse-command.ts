import { parseArgs } from "node:util";
import { MODES, type Mode } from "../plan/types.js";

export type SlashCommand =
  | { kind: "help" }
  | { kind: "status"; cluster: string }
  | { kind: "history"; cluster: string }
  /** `failover` alone: the request is made in a form (a modal). */
  | { kind: "failover-form" }
  | FailoverCommand;

export interface FailoverCommand {
  kind: "failover";
  cluster: string;
  mode?: Mode;
  spare?: string;
  replica?: string;
  dryRun: boolean;
}

/** The part of a failover request an error is about (a form shows it under that field). */
export type FailoverField = "cluster" | "mode" | "spare" | "replica";

export type ParsedCommand =
  | { ok: true; command: SlashCommand }
  | { ok: false; error: string; field?: FailoverField };

/** A failover request's values as typed or picked, before they are checked. */
export interface FailoverValues {
  cluster?: string | undefined;
  mode?: string | undefined;
  spare?: string | undefined;
  replica?: string | undefined;
  dryRun: boolean;
}

/**
 * Parses the text after `/redis` strictly: an unknown flag, a flag without its value or a stray
 * word is an error, never guessed at. Phones and some keyboards turn "--" into a dash, which is
 * accepted as the flag prefix it was meant to be.
 */
export function parseSlashCommand(text: string): ParsedCommand {
  const tokens = tokenize(text);
  const [subcommand, ...rest] = tokens;
  switch (subcommand) {
    case undefined:
    case "help":
      return rest.length > 0
        ? error(`\`help\` takes no arguments (got \`${rest.join(" ")}\`)`)
        : ok({ kind: "help" });
    case "status":
    case "history":
      return parseClusterOnly(subcommand, rest);
    case "failover":
      return rest.length === 0 ? ok({ kind: "failover-form" }) : parseFailover(rest);
    default:
      return error(`unknown command \`${subcommand}\``);
  }
}

function parseClusterOnly(kind: "status" | "history", args: string[]): ParsedCommand {
  const parsed = strictParse(args, {});
  if (!parsed.ok) return parsed;
  const [cluster, ...stray] = parsed.positionals;
  if (!cluster) return error(`\`${kind}\` needs a cluster name`);
  if (stray.length > 0) return error(`unexpected \`${stray.join(" ")}\` after the cluster name`);
  return ok({ kind, cluster });
}

function parseFailover(args: string[]): ParsedCommand {
  const parsed = strictParse(args, {
    mode: { type: "string" },
    spare: { type: "string" },
    replica: { type: "string" },
    "dry-run": { type: "boolean" },
  });
  if (!parsed.ok) return parsed;
  const [cluster, ...stray] = parsed.positionals;
  if (stray.length > 0) return error(`unexpected \`${stray.join(" ")}\` after the cluster name`);
  const values = parsed.values;
  const text = (value: string | boolean | undefined) =>
    typeof value === "string" ? value : undefined;
  return failoverCommand({
    cluster,
    mode: text(values.mode),
    spare: text(values.spare),
    replica: text(values.replica),
    dryRun: values["dry-run"] === true,
  });
}

/**
 * Checks a failover request's values, typed after `/redis failover` or picked in the form:
 * one set of rules for both. Whether the cluster and hosts exist is the inventory's to say.
 */
export function failoverCommand(values: FailoverValues): ParsedCommand {
  const { cluster, mode } = values;
  if (!cluster) {
    return error(
      "`failover` needs a cluster name (or type `/redis failover` alone to pick one in a form)",
      "cluster",
    );
  }
  if (mode !== undefined && !(MODES as readonly string[]).includes(mode)) {
    return error(`\`--mode ${mode}\` is not a mode; use one of ${MODES.join(", ")}`, "mode");
  }
  const command: FailoverCommand = { kind: "failover", cluster, dryRun: values.dryRun };
  if (mode !== undefined) command.mode = mode as Mode;
  for (const flag of ["spare", "replica"] as const) {
    const value = values[flag];
    if (value === undefined) continue;
    if (value === "" || value.startsWith("-")) {
      return error(`\`--${flag}\` needs a host name`, flag);
    }
    command[flag] = value;
  }
  if (command.spare !== undefined && command.spare === command.replica) {
    return error("`--spare` and `--replica` must name different hosts", "replica");
  }
  return ok(command);
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

function strictParse(
  args: string[],
  options: Options,
):
  | { ok: true; values: Record<string, string | boolean | undefined>; positionals: string[] }
  | { ok: false; error: string } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: options ?? {},
      strict: true,
      allowPositionals: true,
    });
    return {
      ok: true,
      values: values as Record<string, string | boolean | undefined>,
      positionals,
    };
  } catch (caught) {
    return { ok: false, error: describeParseError(caught, args) };
  }
}

function describeParseError(caught: unknown, args: string[]): string {
  const code = (caught as { code?: string }).code;
  const message = caught instanceof Error ? caught.message : String(caught);
  const flag = /'(-[^']*)'/.exec(message)?.[1] ?? args.find((arg) => arg.startsWith("-")) ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown flag \`${flag}\``;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return /argument missing|ambiguous/.test(message)
      ? `\`${flag.split(" ")[0]}\` needs a value`
      : `\`${flag}\` takes no value`;
  }
  return message.split(". ")[0] ?? message;
}

function tokenize(text: string): string[] {
  return text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((token) => token.replace(/^[\u2012\u2013\u2014\u2015]/, "--"));
}

function ok(command: SlashCommand): ParsedCommand {
  return { ok: true, command };
}

function error(message: string, field?: FailoverField): ParsedCommand {
  return { ok: false, error: message, ...(field ? { field } : {}) };
}
