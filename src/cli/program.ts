import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { ConnectionFactory } from "../engine/connections.js";
import { errorMessage, isFailoverError } from "../errors.js";
import { MODES, type Mode } from "../plan/types.js";
import { openWatches, replayWatches } from "../state/watches.js";
import { auditCommand } from "./commands/audit.js";
import { dismissCommand } from "./commands/dismiss.js";
import { failoverCommand } from "./commands/failover.js";
import { fenceCommand } from "./commands/fence.js";
import { historyCommand } from "./commands/history.js";
import { statusCommand } from "./commands/status.js";
import { type CliIo, write } from "./io.js";
import { CliSession } from "./session.js";
import { UsageError } from "./usage-error.js";

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliOptions {
  /** Replaces the production clients (the demo's local sandbox). */
  factory?: ConnectionFactory;
  signal?: AbortSignal;
}

/**
 * The break-glass CLI. Commands, flags, exit codes and --json lines are a contract:
 * outside scripts depend on them. Returns the exit code instead of exiting.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  options: CliOptions = {},
): Promise<number> {
  let exitCode: number = EXIT.ok;
  const signal = options.signal ?? new AbortController().signal;
  const program = new Command("redis-failover")
    .description(
      'Fail over a Redis master the verified way ("Redis in Action" 4.3.2), from a terminal.',
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  const session = new CliSession(io, options.factory);
  const inventoryOption = () =>
    new Option(
      "--inventory <file>",
      "inventory YAML (default: $INVENTORY_FILE, then ./inventory.yml)",
    );

  program
    .command("status")
    .description("show the cluster's topology: role, link, offset, lag, keys, last save")
    .argument("<cluster>", "cluster name from the inventory")
    .addOption(inventoryOption())
    .option("--json", "print one JSON object instead of a table")
    .action(async (cluster: string, flags: { inventory?: string; json?: boolean }) => {
      const { engine } = await session.app(flags.inventory);
      exitCode = await statusCommand(engine, cluster, flags, io, async () => {
        const { journal } = await session.state(flags.inventory);
        return openWatches(replayWatches(await journal.store.read())).filter(
          (watch) => watch.cluster === cluster,
        );
      });
    });

  const failover = program
    .command("failover")
    .description("plan and run a failover: preflight, plan, confirmation, then every step verified")
    .argument("<cluster>", "cluster name from the inventory")
    .addOption(
      new Option(
        "--mode <mode>",
        "replace | promote | switchover (default: chosen by preflight)",
      ).choices(MODES),
    )
    .option(
      "--spare <host>",
      "spare machine: the new master (replace) or a new replica (promote, switchover)",
    )
    .option(
      "--replica <host>",
      "replica to use: snapshot source (replace) or new master (promote, switchover)",
    );
  withRunOptions(failover)
    .addOption(inventoryOption())
    .action(
      async (
        cluster: string,
        flags: {
          mode?: Mode;
          spare?: string;
          replica?: string;
          dryRun?: boolean;
          yes?: boolean;
          json?: boolean;
          inventory?: string;
        },
      ) => {
        exitCode = await failoverCommand(session, cluster, flags, signal);
      },
    );

  const fence = program
    .command("fence")
    .description(
      "after a failover: make an old master that came back a replica of the current master",
    )
    .argument("<cluster>", "cluster name from the inventory")
    .option("--host <host>", "fence this host only (default: every other master holding data)");
  withRunOptions(fence)
    .addOption(inventoryOption())
    .action(
      async (
        cluster: string,
        flags: {
          host?: string;
          dryRun?: boolean;
          yes?: boolean;
          json?: boolean;
          inventory?: string;
        },
      ) => {
        exitCode = await fenceCommand(session, cluster, flags, signal);
      },
    );

  program
    .command("dismiss")
    .description(
      "abandon an unfinished run (interrupted, or its executor died) so the cluster can be planned again",
    )
    .argument("<cluster>", "cluster name from the inventory")
    .argument("<runId>", "the run, as `history` lists it")
    .requiredOption("--reason <text>", "why, for the journal")
    .option("--yes", "dismiss without asking to type the cluster name")
    .addOption(inventoryOption())
    .action(
      async (
        cluster: string,
        runId: string,
        flags: { reason?: string; yes?: boolean; inventory?: string },
      ) => {
        exitCode = await dismissCommand(session, cluster, runId, flags);
      },
    );

  program
    .command("history")
    .description(
      "recent failover runs of a cluster from the journal: requester, approver, mode, outcome, duration",
    )
    .argument("<cluster>", "cluster name from the inventory")
    .option("--limit <n>", "how many runs (default 20)", (value) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1)
        throw new InvalidArgumentError("must be a positive whole number");
      return n;
    })
    .option("--json", "one JSON object per run")
    .addOption(inventoryOption())
    .action(
      async (cluster: string, flags: { limit?: number; json?: boolean; inventory?: string }) => {
        exitCode = await historyCommand(session, cluster, flags);
      },
    );

  program
    .command("audit")
    .description(
      "the journal as JSON lines (every request, decision, step and result), for an audit trail",
    )
    .option(
      "--since <date>",
      "only records at or after this date (e.g. 2026-11-24 or 2026-11-24T09:00:00Z)",
    )
    .addOption(inventoryOption())
    .action(async (flags: { since?: string; inventory?: string }) => {
      exitCode = await auditCommand(session, flags);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    return handleError(error, io);
  } finally {
    await session.close();
  }
}

/** The flags every command that changes a cluster shares (failover, fence): part of the CLI contract. */
function withRunOptions(command: Command): Command {
  return command
    .option("--dry-run", "show the plan and change nothing")
    .option("--yes", "run without asking to type the cluster name")
    .option("--json", "one JSON object per line: plan, step, result");
}

function handleError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; every parse error is a usage error.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof UsageError) {
    write(io.stderr, `error: ${error.message}`);
    return EXIT.usage;
  }
  if (
    isFailoverError(error, "CONFIG_INVALID") ||
    isFailoverError(error, "UNKNOWN_CLUSTER") ||
    isFailoverError(error, "UNKNOWN_HOST") ||
    isFailoverError(error, "USAGE")
  ) {
    write(io.stderr, `error: ${error.message}`);
    return EXIT.usage;
  }
  write(io.stderr, `error: ${errorMessage(error)}`);
  return EXIT.failed;
}
