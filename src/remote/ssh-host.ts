import { readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import { FailoverError } from "../errors.js";
import { type HostKeyPolicy, loadHostKeyPolicy, PINNED_FINGERPRINT } from "./host-key-policy.js";
import { type CommandContext, runToCompletion, type StartedProcess } from "./run-command.js";
import { SessionSlots } from "./session-slots.js";
import type { ShellCommand } from "./shell.js";
import { channelProcess, withPgidReport } from "./ssh-channel.js";
import { type ConnectContext, connectError, privateKeyError } from "./ssh-connect-error.js";
import type { ExecOptions, ExecResult, RemoteHost, RemoteProcess } from "./types.js";

export interface SshHostOptions {
  /** The inventory's name for the host, for messages. */
  name: string;
  host: string;
  /** Default 22. */
  port?: number | undefined;
  user: string;
  /** The key itself, or the path of a file holding it (read at each connection). */
  privateKey: Buffer | string;
  passphrase?: string | undefined;
  /** OpenSSH known_hosts file the host's key must be listed in. */
  knownHostsFile?: string | undefined;
  /** Pinned host key fingerprint, "SHA256:..." as `ssh-keygen -l` prints it. */
  hostKey?: string | undefined;
  /** Connect + handshake + authentication deadline. Default 10s. */
  connectTimeoutMs?: number | undefined;
  /** Default 10s; the connection is dropped after 3 unanswered keepalives. */
  keepaliveIntervalMs?: number | undefined;
  /** sshd's MaxSessions: channels open at once on the connection. Default 10 (OpenSSH's default). */
  maxSessions?: number | undefined;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_KEEPALIVE_MS = 10_000;
const CLOSE_GRACE_MS = 5_000;
export const DEFAULT_MAX_SESSIONS = 10;
const OPEN_RETRIES = 60;

/** Errors from ssh2 meaning the connection died before a channel opened (the command never ran). */
const STALE_CONNECTION = /^(Not connected|No response from server)$/;

/**
 * A host reached with OpenSSH through ssh2. The connection opens on first use, is shared by
 * concurrent commands (one channel each) and is reopened after it drops. Host keys are always
 * verified: against knownHostsFile, a pinned hostKey, or both (then both must accept).
 */
export class SshHost implements RemoteHost {
  readonly name: string;
  readonly address: string;
  readonly #options: SshHostOptions;
  readonly #port: number;
  /** The connection in use or being opened; cleared when it closes so the next call reconnects. */
  #current: { client: Client; ready: Promise<Client>; closed: Promise<void> } | undefined;
  readonly #channels = new Set<StartedProcess>();
  readonly #kills = new Set<Promise<void>>();
  /**
   * Beyond sshd's MaxSessions a channel fails to open: commands queue for a slot instead. One
   * slot is kept for `kill -- -PGID`: a killed command's session stays open until its processes
   * are gone, so a kill queued behind it would wait for ever.
   */
  readonly #slots: SessionSlots;
  readonly #killSlot = new SessionSlots(1);

  constructor(options: SshHostOptions) {
    const port = options.port ?? 22;
    this.name = options.name;
    this.address = `${options.user}@${options.host}:${port}`;
    this.#options = options;
    this.#port = port;
    const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new FailoverError(
        "CONFIG_INVALID",
        `maxSessions for ${options.name} must be a positive integer (sshd's MaxSessions), got ${maxSessions}.`,
      );
    }
    this.#slots = new SessionSlots(Math.max(1, maxSessions - 1));
    if (options.knownHostsFile === undefined && options.hostKey === undefined) {
      throw new FailoverError(
        "CONFIG_INVALID",
        `SSH host ${options.name} (${this.address}) needs knownHostsFile or hostKey: host keys are always verified.`,
      );
    }
    if (options.hostKey !== undefined && !PINNED_FINGERPRINT.test(options.hostKey)) {
      throw new FailoverError(
        "CONFIG_INVALID",
        `hostKey for ${options.name} must be a SHA256 fingerprint as printed by ssh-keygen -l ` +
          `("SHA256:" and 43 base64 characters), got "${options.hostKey}".`,
      );
    }
  }

  exec(command: ShellCommand, options: ExecOptions = {}): Promise<ExecResult> {
    return runToCompletion(() => this.#start(command), this.#context(command), options);
  }

  async spawn(command: ShellCommand, options: { timeoutMs?: number } = {}): Promise<RemoteProcess> {
    const proc = await this.#start(command);
    if (options.timeoutMs !== undefined) {
      const timer = setTimeout(() => proc.kill(), options.timeoutMs);
      void proc.exit.then(() => clearTimeout(timer));
    }
    return proc;
  }

  /** Kills commands still running, then ends the connection. A later call reconnects. */
  async close(): Promise<void> {
    const running = [...this.#channels];
    for (const proc of running) proc.kill();
    // The out-of-band kills need the connection: let them through before ending it.
    await settleWithin(
      running.map((proc) => proc.exit),
      CLOSE_GRACE_MS,
    );
    await settleWithin([...this.#kills], CLOSE_GRACE_MS);
    const current = this.#current;
    this.#current = undefined;
    const client = await current?.ready.catch(() => undefined);
    if (!current || !client) return;
    client.end();
    await current.closed;
  }

  #context(command: string): CommandContext {
    return { hostName: this.name, address: this.address, command };
  }

  async #start(command: ShellCommand): Promise<StartedProcess> {
    const release = await this.#slots.acquire();
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connect().catch((error: unknown) => {
        release();
        throw error;
      });
      try {
        // The listeners go on inside ssh2's callback: a quick command's output, exit status
        // and close can arrive in the same read as the exec reply, before any promise settles.
        return await openExec(client, withPgidReport(command), (channel) => {
          const proc = channelProcess(channel, this.#context(command), {
            killGroup: (pgid) => {
              const kill = this.#killRemoteGroup(client, pgid);
              this.#kills.add(kill);
              void kill.then(() => this.#kills.delete(kill));
            },
            onClosed: () => {
              this.#channels.delete(proc);
              release();
            },
          });
          this.#channels.add(proc);
          return proc;
        });
      } catch (error) {
        // The connection had dropped before the channel opened, so the command never ran: retry once.
        if (attempt === 1 && error instanceof Error && STALE_CONNECTION.test(error.message)) {
          this.#forget(client);
          continue;
        }
        // sshd frees a closed session only on its next loop turn, so a channel opened right
        // after another closed can be refused although the count is within MaxSessions. The
        // command never ran: try again shortly, while other channels are open to explain it.
        if (
          error instanceof Error &&
          /open failed/i.test(error.message) &&
          this.#slots.inUse > 1 &&
          attempt <= OPEN_RETRIES
        ) {
          await delay(Math.min(200, 5 * 2 ** attempt));
          continue;
        }
        release();
        throw new FailoverError(
          "REMOTE_COMMAND_FAILED",
          `Could not start a command on ${this.name} (${this.address}): ${(error as Error).message}` +
            (/open failed/i.test((error as Error).message)
              ? ` (sshd refused a new session; is its MaxSessions below the ${this.#slots.limit + 1} configured for this host?)`
              : ""),
          { cause: error },
        );
      }
    }
  }

  /** Best effort: if the connection is gone, sshd has already closed the command's pipes. */
  async #killRemoteGroup(client: Client, pgid: number): Promise<void> {
    const release = await this.#killSlot.acquire();
    await openExec(client, `kill -KILL -- -${pgid} 2>/dev/null`, (channel) => channel).then(
      (channel) =>
        new Promise<void>((resolve) => {
          channel.once("close", () => resolve());
          channel.resume();
          channel.stderr.resume();
          channel.end();
        }),
      () => {},
    );
    release();
  }

  #connect(): Promise<Client> {
    if (!this.#current) {
      const client = new Client();
      const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      const ready = this.#open(client);
      this.#current = { client, ready, closed };
      ready.catch(() => this.#forget(client));
    }
    return this.#current.ready;
  }

  #forget(client: Client): void {
    if (this.#current?.client === client) this.#current = undefined;
    client.end();
  }

  #connectContext(): ConnectContext {
    const { privateKey } = this.#options;
    return {
      name: this.name,
      address: this.address,
      host: this.#options.host,
      port: this.#port,
      user: this.#options.user,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      keySource:
        typeof privateKey === "string"
          ? `the private key ${privateKey}`
          : "the configured private key",
    };
  }

  async #loadPrivateKey(ctx: ConnectContext): Promise<Buffer> {
    const { privateKey } = this.#options;
    if (Buffer.isBuffer(privateKey)) return privateKey;
    if (privateKey.includes("-----BEGIN")) {
      throw privateKeyError(ctx, "privateKey must be a file path, or the key itself as a Buffer");
    }
    try {
      return await readFile(privateKey);
    } catch (error) {
      throw privateKeyError(ctx, `cannot read it: ${(error as Error).message}`, error);
    }
  }

  async #open(client: Client): Promise<Client> {
    const ctx = this.#connectContext();
    const [privateKey, policy] = await Promise.all([
      this.#loadPrivateKey(ctx),
      loadHostKeyPolicy({
        name: this.name,
        host: this.#options.host,
        port: this.#port,
        address: this.address,
        knownHostsFile: this.#options.knownHostsFile,
        hostKey: this.#options.hostKey,
      }),
    ]);
    await new Promise<void>((resolve, reject) => {
      let hostKeyError: FailoverError | undefined;
      let ready = false;
      const fail = (error: FailoverError) => {
        reject(error);
        client.end();
      };
      client.on("error", (error: Error & { level?: string }) => {
        if (ready) return; // the connection closes next; running commands see their channel close
        if (hostKeyError) return fail(hostKeyError);
        if (policy.algorithms && /no matching host key format/.test(error.message)) {
          return fail(policy.noCommonAlgorithm());
        }
        fail(connectError(error, ctx));
      });
      client.once("ready", () => {
        ready = true;
        // Without it, Nagle holds each 32 KiB SSH packet (under loopback's 64 KiB MSS) until the
        // peer's delayed ACK: a relayed copy then crawls at about 128 KiB per 200 ms at first.
        client.setNoDelay(true);
        resolve();
      });
      client.once("close", () => {
        if (!ready) {
          fail(
            hostKeyError ??
              connectError(new Error("the connection closed during the SSH handshake"), ctx),
          );
        }
        if (this.#current?.client === client) this.#current = undefined;
      });
      const config = this.#config(privateKey, policy, ctx, (key) => {
        hostKeyError = policy.check(key);
        return hostKeyError === undefined;
      });
      try {
        client.connect(config);
      } catch (error) {
        // ssh2 parses the key synchronously; its messages never include key material.
        fail(
          privateKeyError(
            ctx,
            (error as Error).message.replace(/^Cannot parse privateKey: /, ""),
            error,
          ),
        );
      }
    });
    return client;
  }

  #config(
    privateKey: Buffer,
    policy: HostKeyPolicy,
    ctx: ConnectContext,
    hostVerifier: (key: Buffer) => boolean,
  ): ConnectConfig {
    const config: ConnectConfig = {
      host: this.#options.host,
      port: this.#port,
      username: this.#options.user,
      privateKey,
      readyTimeout: ctx.connectTimeoutMs,
      keepaliveInterval: this.#options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS,
      keepaliveCountMax: 3,
      hostVerifier,
    };
    if (this.#options.passphrase !== undefined) config.passphrase = this.#options.passphrase;
    if (policy.algorithms) config.algorithms = { serverHostKey: policy.algorithms };
    return config;
  }
}

async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Opens an exec channel; `wrap` runs synchronously in ssh2's callback, before more packets are read. */
function openExec(client: Client, command: string): Promise<ClientChannel>;
function openExec<T>(
  client: Client,
  command: string,
  wrap: (channel: ClientChannel) => T,
): Promise<T>;
function openExec(
  client: Client,
  command: string,
  wrap: (channel: ClientChannel) => unknown = (channel) => channel,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (error, channel) => {
        if (error) return reject(error);
        try {
          resolve(wrap(channel));
        } catch (wrapError) {
          reject(wrapError);
        }
      });
    } catch (error) {
      reject(error);
    }
  });
}
