import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Redis } from "ioredis";
import type { TlsSettings } from "../config/inventory.js";
import { errorMessage, FailoverError } from "../errors.js";
import { type InfoFields, parseInfo } from "./info.js";

export type RedisArg = string | number;

/** The narrow view of a Redis server the engine needs; one per host per run. */
export interface RedisNode {
  /** Inventory host name. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Sends one command; every call is bounded by the command timeout. */
  call(command: string, ...args: RedisArg[]): Promise<unknown>;
  info(section?: string): Promise<InfoFields>;
  /** MULTI/EXEC: the commands run back to back with nothing in between; returns their replies. */
  transaction(commands: ReadonlyArray<readonly [string, ...RedisArg[]]>): Promise<unknown[]>;
  /**
   * Told that this server did not answer earlier (a plan saw it silent): until it answers
   * again, reaching it waits only the short bound, so a hung host is never waited on twice.
   */
  expectSilence?(): void;
  close(): Promise<void>;
}

/**
 * How long a server already known not to answer is given before it counts as still silent.
 * Short on purpose: it was already waited on once, with the full connect bound.
 */
export const SILENT_RETRY_MS = 300;

export interface RedisNodeOptions {
  name: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: TlsSettings;
  /** Database number to SELECT (the discovery key may live outside db 0). */
  db?: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/**
 * ioredis configured for an operator tool rather than an application: no offline queue, no
 * retries and no reconnect loop, so an unreachable or hung server yields a prompt, clear
 * error instead of a command waiting forever.
 */
export class IoRedisNode implements RedisNode {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly #options: RedisNodeOptions;
  #client: Redis | undefined;
  #connecting: Promise<Redis> | undefined;
  /** Set when the server failed to answer in time; cleared by its next answer. */
  #silent = false;

  constructor(options: RedisNodeOptions) {
    this.name = options.name;
    this.host = options.host;
    this.port = options.port;
    this.#options = options;
  }

  async call(command: string, ...args: RedisArg[]): Promise<unknown> {
    const client = await this.#connect();
    try {
      return await client.call(command, ...args);
    } catch (error) {
      const message = errorMessage(error);
      if (/timed out/i.test(message)) {
        // A reply that arrives late must not be mistaken for the reply to a later command.
        this.#drop();
        this.#silent = true;
        throw new FailoverError(
          "REDIS_UNREACHABLE",
          `${this.name} (${this.#where()}) did not answer ${command.toUpperCase()} within ${this.#options.commandTimeoutMs} ms`,
          { cause: error },
        );
      }
      if (this.#client?.status !== "ready") {
        this.#drop();
        throw new FailoverError(
          "REDIS_UNREACHABLE",
          `${this.name} (${this.#where()}): ${message}`,
          { cause: error },
        );
      }
      throw new FailoverError(
        "REDIS_COMMAND_FAILED",
        `${this.name} (${this.#where()}) refused ${command.toUpperCase()}: ${message}`,
        { cause: error },
      );
    }
  }

  async transaction(commands: ReadonlyArray<readonly [string, ...RedisArg[]]>): Promise<unknown[]> {
    const client = await this.#connect();
    const replies = await client
      .multi(commands.map(([name, ...args]) => ["call", name, ...args]))
      .exec()
      .catch((error: unknown) => {
        throw new FailoverError(
          "REDIS_COMMAND_FAILED",
          `${this.name} (${this.#where()}) refused MULTI/EXEC: ${errorMessage(error)}`,
          {
            cause: error,
          },
        );
      });
    if (!replies)
      throw new FailoverError("REDIS_COMMAND_FAILED", `${this.name}: the transaction was aborted`);
    return replies.map(([error, reply]) => {
      if (error) {
        throw new FailoverError(
          "REDIS_COMMAND_FAILED",
          `${this.name} (${this.#where()}) refused a command in MULTI: ${error.message}`,
        );
      }
      return reply;
    });
  }

  async info(section?: string): Promise<InfoFields> {
    const reply = section ? await this.call("INFO", section) : await this.call("INFO");
    return parseInfo(String(reply));
  }

  expectSilence(): void {
    this.#silent = true;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#connecting = undefined;
    if (client) client.disconnect(false);
  }

  #where(): string {
    return `${this.host}:${this.port}`;
  }

  #drop(): void {
    this.#client?.disconnect(false);
    this.#client = undefined;
    this.#connecting = undefined;
  }

  #connect(): Promise<Redis> {
    // Checked first: the client reads "ready" before its PING has been answered.
    if (this.#connecting) return this.#connecting;
    if (this.#client && this.#client.status === "ready") return Promise.resolve(this.#client);
    this.#client?.disconnect(false);
    const options = this.#options;
    const client = new Redis({
      host: options.host,
      port: options.port,
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      ...(options.tls ? { tls: tlsOptions(options.tls) } : {}),
      ...(options.db ? { db: options.db } : {}),
      protocol: 2,
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      disableClientInfo: true,
      connectionName: "redis-failover-bot",
    });
    // Errors surface through the rejected command; without a listener ioredis prints them.
    // The socket's own error (ECONNREFUSED...) is kept: ioredis only rejects with "Connection is closed".
    let socketError: unknown;
    client.on("error", (error: unknown) => {
      socketError = error;
    });
    this.#client = client;
    // A stopped (SIGSTOP) server still completes the TCP handshake in the kernel: a connection
    // counts as made only once the server has answered a PING, all within the connect bound.
    const timeoutMs = this.#silent
      ? Math.min(SILENT_RETRY_MS, options.connectTimeoutMs)
      : options.connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const connecting = Promise.race([
      client
        .connect()
        .then(() => client.call("PING").catch(answeredAnyway))
        .then(() => {
          this.#silent = false;
          return client;
        }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`no answer within ${timeoutMs} ms (host down, hung or firewalled?)`)),
          timeoutMs,
        );
      }),
    ])
      .catch((error: unknown) => {
        if (this.#client === client) this.#drop();
        else client.disconnect(false);
        this.#silent = true;
        throw new FailoverError(
          "REDIS_UNREACHABLE",
          `cannot connect to ${this.name} at ${this.#where()}: ${describeConnectError(socketError ?? error)}`,
          { cause: error },
        );
      })
      .finally(() => {
        clearTimeout(timer);
        if (this.#connecting === connecting) this.#connecting = undefined;
      });
    this.#connecting = connecting;
    return connecting;
  }
}

/** An error reply (LOADING, BUSY...) still proves the server answers; failed authentication does not. */
function answeredAnyway(error: unknown): void {
  const message = errorMessage(error);
  if ((error as Error).name !== "ReplyError" || /NOAUTH|WRONGPASS|invalid password/i.test(message))
    throw error;
}

function describeConnectError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ECONNREFUSED") return "connection refused (is redis-server running?)";
  if (code === "ETIMEDOUT") return "connection timed out";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "host unreachable";
  const message = errorMessage(error);
  if (/WRONGPASS|NOAUTH|invalid password/i.test(message)) {
    return `authentication failed (${message}); check the password environment variable named in the inventory`;
  }
  return message;
}

function tlsOptions(tls: TlsSettings): ConnectionOptions {
  if (tls === true) return {};
  if (tls === false) return {};
  const options: ConnectionOptions = {};
  if (tls.caFile) options.ca = readFileSync(tls.caFile);
  if (tls.servername) options.servername = tls.servername;
  if (tls.rejectUnauthorized !== undefined) options.rejectUnauthorized = tls.rejectUnauthorized;
  return options;
}
