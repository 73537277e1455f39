import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { ReadinessCheck } from "./readiness.js";

/** Slack is reachable: the socket is connected (Socket Mode) or the receiver listens (HTTP). */
export function slackCheck(reachable: () => boolean, mode: "socket" | "http"): ReadinessCheck {
  return () => {
    if (!reachable()) {
      throw new Error(
        mode === "socket"
          ? "the Socket Mode connection to Slack is not open"
          : "the HTTP receiver is not listening",
      );
    }
  };
}

/**
 * The state backend answers: one cheap read of a lock (a GET on the control-plane Redis, a file
 * read on the file backend) and, for the file backend, the directory is writable.
 */
export function stateCheck(options: {
  readLock: () => Promise<unknown>;
  stateDir?: string;
}): ReadinessCheck {
  return async () => {
    if (options.stateDir !== undefined) {
      await access(options.stateDir, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
        throw new Error(`the state directory ${options.stateDir} is not writable (${error.code})`);
      });
    }
    await options.readLock().catch((error: unknown) => {
      throw new Error(
        `the state backend did not answer: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  };
}

export function inventoryCheck(clusterCount: () => number): ReadinessCheck {
  return () => {
    if (clusterCount() === 0) throw new Error("no inventory is loaded");
  };
}
