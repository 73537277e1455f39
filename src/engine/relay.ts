import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errorMessage, FailoverError } from "../errors.js";
import type { ShellCommand } from "../remote/shell.js";
import type { ExitStatus, RemoteHost, RemoteProcess } from "../remote/types.js";

export interface RelayResult {
  bytes: number;
  sha256: string;
  durationMs: number;
}

export interface RelayOptions {
  timeoutMs: number;
  onProgress?: (line: string) => void;
  progressIntervalMs?: number;
}

const STDERR_CAP = 64 * 1024;

/**
 * Streams a command's stdout on one host into a command's stdin on another, through this
 * process: the hosts need no trust between them, and memory stays constant because the
 * pipeline honours backpressure end to end. The bytes are hashed on the way through.
 */
export async function relay(
  from: { host: RemoteHost; command: ShellCommand },
  to: { host: RemoteHost; command: ShellCommand },
  options: RelayOptions,
): Promise<RelayResult> {
  const started = performance.now();
  const hash = createHash("sha256");
  let bytes = 0;
  let lastReport = started;
  const interval = options.progressIntervalMs ?? 1000;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      const now = performance.now();
      if (options.onProgress && now - lastReport >= interval) {
        lastReport = now;
        options.onProgress(progressLine(bytes, now - started));
      }
      callback(null, chunk);
    },
  });

  const reader = await from.host.spawn(from.command, { timeoutMs: options.timeoutMs });
  let writer: RemoteProcess;
  try {
    writer = await to.host.spawn(to.command, { timeoutMs: options.timeoutMs });
  } catch (error) {
    reader.kill();
    throw error;
  }
  reader.stdin.end();
  writer.stdout.resume();
  const readerErrors = collect(reader);
  const writerErrors = collect(writer);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new FailoverError(
          "REMOTE_COMMAND_TIMEOUT",
          `the copy did not finish within ${options.timeoutMs} ms`,
        ),
      );
    }, options.timeoutMs);
  });
  try {
    await Promise.race([pipeline(reader.stdout, meter, writer.stdin), timeout]);
    const [readerExit, writerExit] = (await Promise.race([
      Promise.all([reader.exit, writer.exit]),
      timeout,
    ])) as [ExitStatus, ExitStatus];
    failOnExit(from.host.name, from.command, readerExit, readerErrors());
    failOnExit(to.host.name, to.command, writerExit, writerErrors());
  } catch (error) {
    reader.kill();
    writer.kill();
    if (error instanceof FailoverError) throw error;
    const detail = [readerErrors(), writerErrors()].filter(Boolean).join(" / ");
    throw new FailoverError(
      "REMOTE_COMMAND_FAILED",
      `the copy from ${from.host.name} to ${to.host.name} broke after ${bytes} bytes: ${errorMessage(error)}${detail ? ` (${detail})` : ""}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
  const durationMs = performance.now() - started;
  options.onProgress?.(progressLine(bytes, durationMs));
  return { bytes, sha256: hash.digest("hex"), durationMs: Math.round(durationMs) };
}

function collect(process: RemoteProcess): () => string {
  let text = "";
  process.stderr.on("data", (chunk: Buffer) => {
    if (text.length < STDERR_CAP) text += chunk.toString("utf8");
  });
  return () => text.trim();
}

function failOnExit(host: string, command: ShellCommand, exit: ExitStatus, stderr: string): void {
  if (exit.code === 0) return;
  const how =
    exit.code === null
      ? `was cut off${exit.signal ? ` (signal ${exit.signal})` : ""}`
      : `exited with ${exit.code}`;
  throw new FailoverError(
    "REMOTE_COMMAND_FAILED",
    `on ${host}, \`${command}\` ${how}${stderr ? `: ${stderr}` : ""}`,
  );
}

function progressLine(bytes: number, elapsedMs: number): string {
  const mib = bytes / 1024 / 1024;
  const rate = elapsedMs > 0 ? mib / (elapsedMs / 1000) : 0;
  return `  copied ${mib.toFixed(1)} MiB at ${rate.toFixed(1)} MiB/s`;
}
