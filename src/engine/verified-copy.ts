import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errorMessage, FailoverError } from "../errors.js";
import { remote } from "../plan/commands.js";
import type { ShellCommand } from "../remote/shell.js";
import type { ExitStatus, RemoteHost } from "../remote/types.js";
import type { CheckRdbTool } from "../topology/types.js";

/**
 * The copy in one pass over the bytes and one remote command per host: the source reads the
 * file once and hashes what it read (remote.sendHashed); the bot hashes the bytes in flight;
 * the target writes them to the partial file while hashing and structure-checking them
 * (remote.receiveVerified), then installs the copy only on the bot's verdict, which it sends
 * once every size and hash agree. Memory stays flat: the pipeline honours backpressure.
 */

export interface CopyEnd {
  host: RemoteHost;
  name: string;
}

export interface VerifiedCopyRequest {
  from: CopyEnd & { path: string };
  to: CopyEnd & {
    partial: string;
    target: string;
    aside: string;
    /** The RDB checker the target runs on the bytes, or false for sizes and hashes only. */
    checkRdb: CheckRdbTool | false;
    /** Run by the target's command right after the install (it reports "start <code>"). */
    start?: ShellCommand;
  };
  /** A last check before the bot sends "install": why not to install, or undefined. */
  beforeInstall?: () => Promise<string | undefined>;
  timeoutMs: number;
  onProgress?: (line: string) => void;
  progressIntervalMs?: number;
}

export interface SideReport {
  command: ShellCommand;
  /** What the command printed, stdout then stderr, for the step's output. */
  output: string[];
}

export interface VerifiedCopyResult {
  bytes: number;
  sha256: string;
  durationMs: number;
  source: SideReport;
  target: SideReport;
}

const OUTPUT_CAP = 64 * 1024;
export const HASH_LINE = /^([0-9a-f]{64}) {2}-$/m;

/** A command's output stream, kept as text (capped) and searched for labelled lines. */
export class Lines {
  #text = "";
  #ended = false;
  readonly #waiters: Array<() => void> = [];
  /** `cap`: how much text to keep; a batched start command's output is kept whole. */
  constructor(stream: NodeJS.ReadableStream, cap = OUTPUT_CAP) {
    const wake = () => {
      for (const resolve of this.#waiters.splice(0)) resolve();
    };
    stream.on("data", (chunk: Buffer) => {
      if (this.#text.length < cap) this.#text += chunk.toString("utf8");
      wake();
    });
    const ended = () => {
      this.#ended = true;
      wake();
    };
    stream.once("end", ended);
    stream.once("close", ended);
    stream.once("error", ended);
  }
  get text(): string {
    return this.#text;
  }
  /** The value after `label ` on a complete line, if printed yet. */
  field(label: string): string | undefined {
    const match = new RegExp(`^${label}(?: (.*))?\n`, "m").exec(this.#text);
    return match ? (match[1] ?? "") : undefined;
  }
  /** Resolves when `label` has been printed, or with undefined once the stream ended without it. */
  waitFor(label: string): Promise<string | undefined> {
    return this.waitMatch(new RegExp(`^${label}(?: (.*))?\n`, "m")).then((match) =>
      match ? (match[1] ?? "") : undefined,
    );
  }
  /** Resolves with the first match of `pattern`, or undefined once the stream ended without one. */
  async waitMatch(pattern: RegExp): Promise<RegExpExecArray | undefined> {
    for (;;) {
      const match = pattern.exec(this.#text);
      if (match || this.#ended) return match ?? undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

export async function verifiedCopy(request: VerifiedCopyRequest): Promise<VerifiedCopyResult> {
  const { from, to } = request;
  const sendCommand = remote.sendHashed(from.path);
  const receiveCommand = remote.receiveVerified(
    to.partial,
    to.target,
    to.aside,
    to.checkRdb,
    to.start,
  );
  const started = performance.now();
  const [readerStart, writerStart] = await Promise.allSettled([
    from.host.spawn(sendCommand, { timeoutMs: request.timeoutMs }),
    to.host.spawn(receiveCommand, { timeoutMs: request.timeoutMs }),
  ]);
  if (readerStart.status === "rejected" || writerStart.status === "rejected") {
    if (readerStart.status === "fulfilled") readerStart.value.kill();
    if (writerStart.status === "fulfilled") writerStart.value.kill();
    throw readerStart.status === "rejected"
      ? readerStart.reason
      : (writerStart as PromiseRejectedResult).reason;
  }
  const reader = readerStart.value;
  const writer = writerStart.value;
  reader.stdin.on("error", () => {});
  writer.stdin.on("error", () => {});
  reader.stdin.end();
  const readerErr = new Lines(reader.stderr);
  const writerOut = new Lines(writer.stdout, to.start ? Number.POSITIVE_INFINITY : undefined);
  const writerErr = new Lines(writer.stderr);
  const report = (): Pick<VerifiedCopyResult, "source" | "target"> => ({
    source: { command: sendCommand, output: lines(readerErr.text) },
    target: {
      command: receiveCommand,
      output: [...lines(writerOut.text), ...lines(writerErr.text)],
    },
  });

  let bytes = 0;
  const hash = createHash("sha256");
  const { within, clear } = copyDeadline(request.timeoutMs);
  try {
    const sizeText = await within(readerErr.waitFor("size"));
    const size = Number(sizeText);
    if (sizeText === undefined || !Number.isSafeInteger(size)) {
      throw sideFailure(from.name, sendCommand, await reader.exit, readerErr.text);
    }
    writer.stdin.write(`${size}\n`);
    const meter = meterStream(size, hash, started, request, (n) => {
      bytes = n;
    });
    await within(pipeline(reader.stdout, meter, writer.stdin, { end: false }));
    const readerExit = await within(reader.exit);
    const sourceHash = HASH_LINE.exec(readerErr.text)?.[1];
    if (readerExit.code !== 0 || sourceHash === undefined) {
      writer.stdin.end("abort\n");
      throw sideFailure(from.name, sendCommand, readerExit, readerErr.text);
    }
    const flight = hash.digest("hex");
    request.onProgress?.(progressLine(bytes, performance.now() - started));
    // The target has written everything it was sent once it prints the partial file's size.
    await within(writerOut.waitFor("size"));
    const problem = await lastCheck(request, {
      size,
      bytes,
      sourceHash,
      flight,
      targetHash: HASH_LINE.exec(writerOut.text)?.[1],
      targetSize: writerOut.field("size"),
      tee: writerOut.field("tee"),
      check: to.checkRdb ? writerOut.field("check") : "0",
      names: { from: from.name, to: to.name },
      checker: to.checkRdb || "redis-check-rdb",
      checkDetail: lastLine(writerErr.text),
    });
    writer.stdin.end(problem ? "abort\n" : "install\n");
    const [writerExit, installed] = await within(
      Promise.all([writer.exit, writerOut.waitFor("installed")]),
    );
    if (problem) throw new FailoverError("VERIFY_FAILED", problem);
    if (writerExit.code !== 0 || installed === undefined) {
      throw sideFailure(to.name, receiveCommand, writerExit, writerErr.text || writerOut.text);
    }
    return {
      bytes,
      sha256: flight,
      durationMs: Math.round(performance.now() - started),
      ...report(),
    };
  } catch (error) {
    reader.kill();
    writer.kill();
    const failure =
      error instanceof FailoverError
        ? error
        : new FailoverError(
            "REMOTE_COMMAND_FAILED",
            `the copy from ${from.name} to ${to.name} broke after ${bytes} bytes: ${errorMessage(error)}${detail(readerErr.text, writerErr.text)}`,
            { cause: error },
          );
    throw Object.assign(failure, { copyReport: report() });
  } finally {
    clear();
  }
}

function meterStream(
  size: number,
  hash: ReturnType<typeof createHash>,
  started: number,
  request: VerifiedCopyRequest,
  onBytes: (bytes: number) => void,
): Transform {
  let bytes = 0;
  let lastReport = started;
  const interval = request.progressIntervalMs ?? 1000;
  return new Transform({
    // Bigger buffers than the 16 KiB default: fewer wake-ups per MiB between the two channels.
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onBytes(bytes);
      if (bytes > size) {
        callback(new Error(`the source sent more than the ${size} bytes it reported`));
        return;
      }
      hash.update(chunk);
      const now = performance.now();
      if (request.onProgress && now - lastReport >= interval) {
        lastReport = now;
        request.onProgress(progressLine(bytes, now - started));
      }
      callback(null, chunk);
    },
  });
}

export interface Facts {
  size: number;
  bytes: number;
  sourceHash: string;
  /** The bot's hash of the bytes it relayed; undefined for a direct copy (the bot sees none). */
  flight: string | undefined;
  targetHash: string | undefined;
  targetSize: string | undefined;
  tee: string | undefined;
  check: string | undefined;
  names: { from: string; to: string };
  /** The RDB checker named when check is not 0. */
  checker: CheckRdbTool;
  checkDetail: string;
}

/** The copy's own verdict, then the caller's last check before "install". */
export async function lastCheck(
  request: Pick<VerifiedCopyRequest, "beforeInstall">,
  facts: Facts,
): Promise<string | undefined> {
  return verdict(facts) ?? (await request.beforeInstall?.());
}

/** Why the copy must not be installed, or undefined when every check agrees. */
export function verdict(f: Facts): string | undefined {
  const { from, to } = f.names;
  if (f.tee !== "0")
    return `writing the copy on ${to} failed (tee exited with ${f.tee ?? "nothing"})`;
  if (f.bytes !== f.size || Number(f.targetSize) !== f.size) {
    return `size mismatch: ${from} has ${f.size} bytes, ${f.bytes} were relayed, ${to} wrote ${f.targetSize ?? "nothing"}`;
  }
  const flight = f.flight ?? f.sourceHash;
  if (f.sourceHash !== flight || flight !== f.targetHash) {
    return `the copy is corrupt: SHA-256 on ${from} ${f.sourceHash}${f.flight === undefined ? "" : `, in flight ${f.flight}`}, on ${to} ${f.targetHash ?? "(none)"}`;
  }
  if (f.check !== "0") {
    return `${f.checker} on ${to} rejected the copy (exit ${f.check ?? "nothing"}): ${f.checkDetail}`;
  }
  return undefined;
}

/** One deadline for a whole copy: `within` races a promise against it; `clear` ends it. */
export function copyDeadline(timeoutMs: number): {
  within: <T>(promise: Promise<T>) => Promise<T>;
  clear: () => void;
} {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new FailoverError(
            "REMOTE_COMMAND_TIMEOUT",
            `the copy did not finish within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  deadline.catch(() => {});
  return {
    within: (promise) => Promise.race([promise, deadline]),
    clear: () => clearTimeout(timer),
  };
}

export function sideFailure(
  host: string,
  command: ShellCommand,
  exit: ExitStatus,
  output: string,
): FailoverError {
  const how =
    exit.code === null
      ? `was cut off${exit.signal ? ` (signal ${exit.signal})` : ""}`
      : `exited with ${exit.code}`;
  const said = lastLine(output);
  return new FailoverError(
    "REMOTE_COMMAND_FAILED",
    `on ${host}, \`${command.split(";")[0]}…\` ${how}${said ? `: ${said}` : ""}`,
  );
}

export function detail(...texts: string[]): string {
  const said = texts.map(lastLine).filter(Boolean).join(" / ");
  return said ? ` (${said})` : "";
}

export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

export function lastLine(text: string): string {
  return lines(text).slice(-3).join(" / ");
}

function progressLine(bytes: number, elapsedMs: number): string {
  const mib = bytes / 1024 / 1024;
  const rate = elapsedMs > 0 ? mib / (elapsedMs / 1000) : 0;
  return `  copied ${mib.toFixed(1)} MiB at ${rate.toFixed(1)} MiB/s`;
}
