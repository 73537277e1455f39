import type { Readable, Writable } from "node:stream";
import type { ShellCommand } from "./shell.js";

/** How a remote command ended. */
export interface ExitStatus {
  /** Exit code, or null when the command was killed by a signal or the channel was lost. */
  code: number | null;
  signal: string | null;
}

export interface ExecResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command (and reject with REMOTE_COMMAND_TIMEOUT) after this long. */
  timeoutMs?: number;
  /** Written to the command's stdin, then stdin is closed. */
  stdin?: string | Buffer;
  /** Live output, as it arrives. */
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
  signal?: AbortSignal;
}

/** A command started on a host with its streams open: the primitive behind exec and file copies. */
export interface RemoteProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles when the command exits (never rejects; a lost channel gives code null). */
  readonly exit: Promise<ExitStatus>;
  /** Ends the command (signal where the transport supports it, then closes the channel). */
  kill(): void;
}

/**
 * A machine the engine can run commands on: OpenSSH through ssh2 in production and tests,
 * a local shell in the demo. Connections are opened lazily and reused.
 */
export interface RemoteHost {
  /** The inventory's name for the host, for messages. */
  readonly name: string;
  /** Where it is, for messages: "root@10.0.0.11:22" or "local". */
  readonly address: string;
  /** Runs a command to completion and collects its output (stdout and stderr capped at 1 MiB each). */
  exec(command: ShellCommand, options?: ExecOptions): Promise<ExecResult>;
  /** Starts a command with open streams; the caller must consume stdout and stderr. */
  spawn(command: ShellCommand, options?: { timeoutMs?: number }): Promise<RemoteProcess>;
  close(): Promise<void>;
}
