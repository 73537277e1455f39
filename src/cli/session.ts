import { hostname, userInfo } from "node:os";
import { type Bootstrapped, bootstrap } from "../app/bootstrap.js";
import { openState, stateSettings } from "../app/state.js";
import type { ConnectionFactory } from "../engine/connections.js";
import { RunLifecycle } from "../runs/lifecycle.js";
import { RunCoordinator } from "../state/run-coordinator.js";
import type { RunJournal } from "../state/run-journal.js";
import type { StateBackend } from "../state/types.js";
import { type CliIo, write } from "./io.js";

export interface CliState {
  backend: StateBackend;
  journal: RunJournal;
  coordinator: RunCoordinator;
  lifecycle: RunLifecycle;
}

/**
 * What a CLI command needs, opened on first use and closed when the command ends: the engine
 * (inventory, clients, logger) and the state (journal and locks, shared with the Slack bot
 * through STATE_DIR or STATE_REDIS_URL).
 */
export class CliSession {
  readonly io: CliIo;
  readonly #factory: ConnectionFactory | undefined;
  #app: Promise<Bootstrapped> | undefined;
  #state: Promise<CliState> | undefined;

  constructor(io: CliIo, factory?: ConnectionFactory) {
    this.io = io;
    this.#factory = factory;
  }

  /** Who is at the keyboard, as the journal records it. */
  get operator(): string {
    let user = "unknown";
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (some containers)
    }
    return `cli:${this.io.env.SUDO_USER ?? user}@${hostname()}`;
  }

  app(inventory?: string): Promise<Bootstrapped> {
    this.#app ??= bootstrap({
      env: this.io.env,
      ...(inventory ? { inventoryPath: inventory } : {}),
      // Log lines only when asked for: a terminal gets the plain-text messages alone.
      logLevel: this.io.env.LOG_LEVEL ?? (this.io.env.LOG_PRETTY === "1" ? "warn" : "silent"),
      ...(this.#factory ? { factory: this.#factory } : {}),
    });
    return this.#app;
  }

  state(inventory?: string): Promise<CliState> {
    this.#state ??= (async () => {
      const { engine, log, secrets } = await this.app(inventory);
      const settings = stateSettings(this.io.env, engine.inventory.path);
      const { backend, journal } = await openState({
        settings,
        inventory: engine.inventory,
        env: this.io.env,
        log,
        secrets,
      });
      const coordinator = new RunCoordinator({
        engine,
        journal,
        locks: backend.locks,
        leaseMs: settings.leaseMs,
        log,
      });
      // Where the journal and locks live, so the operator can tell it is the bot's (never stdout: --json).
      write(this.io.stderr, `state: ${backend.description}`);
      const lifecycle = new RunLifecycle({
        engine,
        journal,
        coordinator,
        decisions: backend.decisions,
        log,
        approvalTimeoutMs: 0,
      });
      return { backend, journal, coordinator, lifecycle };
    })();
    return this.#state;
  }

  async close(): Promise<void> {
    const state = await this.#state?.catch(() => undefined);
    await state?.backend.close();
    const app = await this.#app?.catch(() => undefined);
    await app?.engine.close();
  }
}
