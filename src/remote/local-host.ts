import { type ChildProcessWithoutNullStreams, spawn as spawnChild } from "node:child_process";
import { FailoverError } from "../errors.js";
import { type CommandContext, runToCompletion, type StartedProcess } from "./run-command.js";
import type { ShellCommand } from "./shell.js";
import type { ExecOptions, ExecResult, ExitStatus, RemoteHost, RemoteProcess } from "./types.js";

/** Process groups still running, killed if the bot exits before they do. */
const runningGroups = new Set<number>();
process.once("exit", () => {
  for (const pgid of runningGroups) killGroup(pgid);
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // ESRCH: already gone
  }
}

/**
 * Runs commands with /bin/sh on this machine (the demo's "machines" are local processes).
 * Each command gets its own process group so a timeout kills everything it started.
 */
export class LocalHost implements RemoteHost {
  readonly address = "local";
  /** Process group → its command's exit. */
  readonly #running = new Map<number, Promise<ExitStatus>>();

  constructor(readonly name: string) {}

  exec(command: ShellCommand, options: ExecOptions = {}): Promise<ExecResult> {
    return runToCompletion(async () => this.#start(command), this.#context(command), options);
  }

  async spawn(command: ShellCommand, options: { timeoutMs?: number } = {}): Promise<RemoteProcess> {
    const proc = this.#start(command);
    if (options.timeoutMs !== undefined) {
      const timer = setTimeout(() => proc.kill(), options.timeoutMs);
      void proc.exit.then(() => clearTimeout(timer));
    }
    return proc;
  }

  /** Kills the commands still running and waits for them to end. */
  async close(): Promise<void> {
    const running = [...this.#running];
    for (const [pgid] of running) killGroup(pgid);
    await Promise.all(running.map(([, exit]) => exit));
  }

  #context(command: string): CommandContext {
    return { hostName: this.name, address: this.address, command };
  }

  #start(command: ShellCommand): StartedProcess {
    const child: ChildProcessWithoutNullStreams = spawnChild("/bin/sh", ["-c", command], {
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const pgid = child.pid;
    let failure: FailoverError | undefined;
    const exit = new Promise<ExitStatus>((resolve) => {
      child.once("error", (error) => {
        failure = new FailoverError(
          "REMOTE_COMMAND_FAILED",
          `Could not start /bin/sh on ${this.name} (local): ${error.message}`,
          { cause: error },
        );
        if (pgid === undefined) resolve({ code: null, signal: null });
      });
      child.once("close", (code, signal) => resolve({ code, signal }));
    }).finally(() => {
      if (pgid === undefined) return;
      this.#running.delete(pgid);
      runningGroups.delete(pgid);
    });
    if (pgid !== undefined) {
      this.#running.set(pgid, exit);
      runningGroups.add(pgid);
    }
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exit,
      kill: () => {
        if (pgid !== undefined && this.#running.has(pgid)) killGroup(pgid);
      },
      failure: () => failure,
    };
  }
}
