import type { Readable, Writable } from "node:stream";
import { FailoverError } from "../errors.js";
import { OutputCollector } from "./output-collector.js";
import type { ExecOptions, ExecResult, RemoteProcess } from "./types.js";

/** A started command as a transport sees it: a RemoteProcess that can also say why it was lost. */
export interface StartedProcess extends RemoteProcess {
  /** Set once the command ended without an exit status because of the transport. */
  failure(): FailoverError | undefined;
}

export interface CommandContext {
  hostName: string;
  address: string;
  command: string;
}

/** The command as shown in messages: first line, at most 200 characters. */
export function describeCommand(command: string): string {
  const firstLine = command.split("\n", 1)[0] ?? "";
  const short = firstLine.slice(0, 200);
  return short === command ? short : `${short}…`;
}

function where(ctx: CommandContext): string {
  return `${ctx.hostName} (${ctx.address})`;
}

function commandTimeoutError(ctx: CommandContext, timeoutMs: number): FailoverError {
  return new FailoverError(
    "REMOTE_COMMAND_TIMEOUT",
    `Command on ${where(ctx)} did not finish within ${formatMs(timeoutMs)} and was killed: ${describeCommand(ctx.command)}`,
  );
}

function abortedError(ctx: CommandContext, signal: AbortSignal): FailoverError {
  return new FailoverError(
    "ABORTED",
    `Command on ${where(ctx)} was aborted: ${describeCommand(ctx.command)}`,
    { cause: signal.reason },
  );
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function streamEnded(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("end", done).off("close", done).off("error", done);
      resolve();
    };
    stream.on("end", done).on("close", done).on("error", done);
  });
}

function writeStdin(stdin: Writable, data: string | Buffer | undefined): void {
  // The command may exit without reading its input (EPIPE): its exit status tells the story.
  stdin.on("error", () => {});
  if (data === undefined || data.length === 0) stdin.end();
  else stdin.end(data);
}

/**
 * Runs a command to completion with ExecOptions semantics: stdin written then closed, output
 * collected (capped) and streamed live, timeout and abort kill the command and reject. The
 * timeout covers the whole call, including opening a connection.
 */
export function runToCompletion(
  start: () => Promise<StartedProcess>,
  ctx: CommandContext,
  options: ExecOptions = {},
): Promise<ExecResult> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) return Promise.reject(abortedError(ctx, signal));

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let proc: StartedProcess | undefined;
    let timer: NodeJS.Timeout | undefined;

    const onAbort = () => fail(abortedError(ctx, signal as AbortSignal));
    const cleanup = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    function fail(error: unknown) {
      if (settled) return;
      cleanup();
      if (proc) abandon(proc);
      reject(error);
    }

    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => fail(commandTimeoutError(ctx, timeoutMs)), timeoutMs);
    }

    const live = (stream: "stdout" | "stderr") =>
      options.onOutput
        ? (text: string) => {
            if (settled) return;
            try {
              options.onOutput?.(text, stream);
            } catch (error) {
              fail(error);
            }
          }
        : undefined;

    start().then(
      (started) => {
        if (settled) {
          abandon(started);
          return;
        }
        proc = started;
        const stdout = new OutputCollector(live("stdout"));
        const stderr = new OutputCollector(live("stderr"));
        started.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
        started.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
        const outputDone = Promise.all([streamEnded(started.stdout), streamEnded(started.stderr)]);
        writeStdin(started.stdin, options.stdin);
        Promise.all([started.exit, outputDone]).then(([status]) => {
          if (settled) return;
          const failure = started.failure();
          if (failure) return fail(failure);
          const result = { ...status, stdout: stdout.finish(), stderr: stderr.finish() };
          if (settled) return; // a live listener threw while flushing
          cleanup();
          resolve(result);
        });
      },
      (error: unknown) => fail(error),
    );
  });
}

/** Kills a command nobody will read from, draining its streams so the transport can close it. */
function abandon(proc: StartedProcess): void {
  proc.stdout.resume();
  proc.stderr.resume();
  proc.kill();
}
