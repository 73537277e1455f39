import { Transform, type TransformCallback } from "node:stream";
import type { ClientChannel } from "ssh2";
import { FailoverError } from "../errors.js";
import { type CommandContext, describeCommand, type StartedProcess } from "./run-command.js";
import type { ExitStatus } from "./types.js";

/**
 * Killing a remote command. The SSH "signal" request is not enough on its own: OpenSSH refuses
 * it for sessions that run in its privileged monitor, which is every root login ("session
 * signalling requires privilege separation"), and ssh2 1.17 drops it once stdin is closed. So
 * each command first reports its process group on stderr (sshd makes the login shell a
 * session leader), and kill() also runs `kill -KILL -- -PGID` on a second channel.
 */

const MARKER = "\u0001rfb-pgid ";
const PGID_REPORT_WAIT_MS = 5_000;

export function withPgidReport(command: string): string {
  return `printf '\\001rfb-pgid %s\\n' "$$" >&2; ${command}`;
}

const SCAN_LIMIT = 4096;
const MAX_REPORT = MARKER.length + 20;

function mayBecomeReport(text: string): boolean {
  if (text.length <= MARKER.length) return MARKER.startsWith(text);
  return text.startsWith(MARKER) && /^\d*$/.test(text.slice(MARKER.length));
}

/**
 * Removes the process-group report from stderr and hands its number over. It is the shell's
 * first output, but the login shell's rc files could write before it, so every line start in
 * the first few KiB is looked at.
 */
export class PgidReportStripper extends Transform {
  #pending: Buffer = Buffer.alloc(0);
  #atLineStart = true;
  #scanned = 0;
  #found = false;

  constructor(private readonly onPgid: (pgid: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#found || this.#scanned > SCAN_LIMIT) {
      done(null, chunk);
      return;
    }
    const out = this.#scan(Buffer.concat([this.#pending, chunk]));
    done(null, out.length > 0 ? out : undefined);
  }

  override _flush(done: TransformCallback): void {
    if (this.#pending.length > 0) this.push(this.#pending);
    done();
  }

  #scan(data: Buffer): Buffer {
    const out: Buffer[] = [];
    this.#pending = Buffer.alloc(0);
    let pos = 0;
    while (pos < data.length) {
      if (this.#found || this.#scanned > SCAN_LIMIT) {
        out.push(data.subarray(pos));
        break;
      }
      const newline = data.indexOf(0x0a, pos);
      const lineEnd = newline === -1 ? data.length : newline;
      if (this.#atLineStart) {
        const text = data.toString("latin1", pos, Math.min(lineEnd, pos + MAX_REPORT + 1));
        if (newline === -1 && text.length <= MAX_REPORT && mayBecomeReport(text)) {
          this.#pending = data.subarray(pos); // wait for the rest of the line
          break;
        }
        if (newline !== -1 && text.startsWith(MARKER) && /^\d+$/.test(text.slice(MARKER.length))) {
          this.#found = true;
          this.onPgid(Number(text.slice(MARKER.length)));
          pos = newline + 1;
          continue;
        }
      }
      const end = newline === -1 ? data.length : newline + 1;
      out.push(data.subarray(pos, end));
      this.#scanned += end - pos;
      this.#atLineStart = newline !== -1;
      pos = end;
    }
    return Buffer.concat(out);
  }
}

interface ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?: (id: number, signal: string) => void } };
}

/** ClientChannel.signal() is a no-op after stdin EOF in ssh2 1.17 (mscdex/ssh2#1510). */
function sendSignal(channel: ClientChannel, signal: string): void {
  const internals = channel as unknown as ChannelInternals;
  const { id, state } = internals.outgoing ?? {};
  const protocol = internals._client?._protocol;
  if ((state === "open" || state === "eof") && id !== undefined && protocol?.signal) {
    protocol.signal(id, signal);
  } else {
    channel.signal(signal);
  }
}

/** "KILL" (SSH) → "SIGKILL" (Node), so both transports report signals alike. */
function nodeSignalName(signal: string | undefined): string | null {
  if (!signal) return null;
  return signal.startsWith("SIG") ? signal : `SIG${signal}`;
}

export interface ChannelHooks {
  /** Kills a remote process group out of band (on another channel). */
  killGroup(pgid: number): void;
  /** Runs once the channel has closed. */
  onClosed(): void;
}

/**
 * Wraps an exec channel started with `withPgidReport` as a StartedProcess. Call it inside
 * ssh2's exec callback: a listener added later misses events of a command that already ended.
 */
export function channelProcess(
  channel: ClientChannel,
  ctx: CommandContext,
  hooks: ChannelHooks,
): StartedProcess {
  let status: ExitStatus | undefined;
  let closed = false;
  let killed = false;
  let pgid: number | undefined;

  const killGroup = () => {
    if (pgid !== undefined && status === undefined) hooks.killGroup(pgid);
  };
  const stderr = new PgidReportStripper((reported) => {
    pgid = reported;
    if (killed && !closed) {
      killGroup();
      channel.close();
    }
  });
  channel.stderr.pipe(stderr);

  const record = (code: unknown, signal: unknown) => {
    if (status !== undefined) return;
    if (typeof code === "number") status = { code, signal: null };
    else if (code === null) {
      status = {
        code: null,
        signal: nodeSignalName(typeof signal === "string" ? signal : undefined),
      };
    }
  };
  channel.on("exit", record);
  const exit = new Promise<ExitStatus>((resolve) => {
    // ssh2 repeats the exit status on close (undefined when sshd never sent one).
    channel.once("close", (code: unknown, signal: unknown) => {
      record(code, signal);
      closed = true;
      hooks.onClosed();
      resolve(status ?? { code: null, signal: null });
    });
  });

  return {
    stdin: channel,
    stdout: channel,
    stderr,
    exit,
    kill() {
      if (killed || closed || status !== undefined) return;
      killed = true;
      sendSignal(channel, "KILL");
      if (pgid === undefined) {
        // Closing now would lose the report, which is the shell's first act; but never wait long.
        setTimeout(() => channel.close(), PGID_REPORT_WAIT_MS).unref();
        return;
      }
      killGroup();
      channel.close();
    },
    failure() {
      if (status !== undefined || killed) return undefined;
      return new FailoverError(
        "SSH_UNREACHABLE",
        `Lost the SSH connection to ${ctx.hostName} (${ctx.address}) while running a command; ` +
          `it may or may not have completed: ${describeCommand(ctx.command)}`,
      );
    },
  };
}
