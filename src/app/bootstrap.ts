import type { DestinationStream } from "pino";
import { DEFAULT_INVENTORY_FILE, loadInventory } from "../config/inventory.js";
import { createConnectionFactory } from "../engine/connection-factory.js";
import type { ConnectionFactory } from "../engine/connections.js";
import { FailoverEngine } from "../engine/engine.js";
import { createLogger, type Logger } from "../log/logger.js";
import { Secrets } from "../secrets.js";

export interface BootstrapOptions {
  env: NodeJS.ProcessEnv;
  /** --inventory; falls back to INVENTORY_FILE, then ./inventory.yml. */
  inventoryPath?: string;
  logLevel?: string;
  logDestination?: DestinationStream;
  /** Overrides the production ioredis/ssh2 clients (the demo's local sandbox). */
  factory?: ConnectionFactory;
}

export interface Bootstrapped {
  engine: FailoverEngine;
  log: Logger;
  secrets: Secrets;
}

/** Everything a front end needs, wired from the environment in one place. */
export async function bootstrap(options: BootstrapOptions): Promise<Bootstrapped> {
  const secrets = new Secrets();
  const log = createLogger({
    level: options.logLevel ?? options.env.LOG_LEVEL ?? "info",
    secrets,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
    pretty: options.env.LOG_PRETTY === "1",
  });
  const inventoryPath =
    options.inventoryPath ?? options.env.INVENTORY_FILE ?? DEFAULT_INVENTORY_FILE;
  const inventory = await loadInventory(inventoryPath);
  const factory = options.factory ?? createConnectionFactory(options.env, secrets);
  const engine = new FailoverEngine({ inventory, factory, log, secrets });
  return { engine, log, secrets };
}
