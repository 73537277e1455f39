import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "../log/logger.js";
import { RenewingLease } from "./renewing-lease.js";
import type { AcquireResult, ClusterLocks, Decisions, LockHolder } from "./types.js";

/**
 * Per-cluster locks for a single machine (the bot and the CLI sharing one state dir), as files
 * `<dir>/locks/<cluster>.json` holding the LockHolder. A free lock is taken by link()ing a
 * complete temp file into place, which fails if the file exists. An expired (or unreadable)
 * lock is taken over by renaming a fresh temp file over it after re-reading that it still holds
 * the same expired content. Two processes taking over the same expired lock at the same instant
 * can both pass that re-check (a window of microseconds between the read and the rename), and
 * may even be given the same fencing token; the re-read right after the rename catches most of
 * these, and otherwise the later rename wins the file and the other one finds out at its first
 * renewal (leaseMs/3) and aborts `lost`. On one machine with two processes (the bot and a break-glass CLI), both
 * racing for the same lease in that window needs a lease to expire while both contend, and the
 * loser is still fenced off within a third of a lease: acceptable for this backend. The Redis
 * backend has no such window.
 */
export class FileLocks implements ClusterLocks {
  readonly #dir: string;
  readonly #log: Logger;

  private constructor(dir: string, log: Logger) {
    this.#dir = dir;
    this.#log = log;
  }

  static async open(stateDir: string, log: Logger): Promise<FileLocks> {
    const dir = join(resolve(stateDir), "locks");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new FileLocks(dir, log);
  }

  async acquire(
    cluster: string,
    owner: { runId: string; instance: string },
    leaseMs: number,
  ): Promise<AcquireResult> {
    const path = this.#lockPath(cluster);
    for (let attempt = 0; attempt < 10; attempt++) {
      const acquiredAt = Date.now();
      const current = await readOrUndefined(path);
      const previous = current === undefined ? undefined : parseHolder(current);
      if (previous && previous.expiresAt > acquiredAt) return { ok: false, holder: previous };
      const holder: LockHolder = {
        ...owner,
        fencingToken: Math.max(await this.#lastToken(cluster), previous?.fencingToken ?? 0) + 1,
        expiresAt: acquiredAt + leaseMs,
      };
      const content = JSON.stringify(holder);
      const temp = await writeTemp(this.#dir, content);
      try {
        if (current === undefined) {
          if (!(await linkExclusive(temp, path))) continue; // someone else got it first: look again
        } else {
          // Taking over an expired or unreadable lock: only if it is still what we judged.
          if ((await readOrUndefined(path)) !== current) continue;
          await rename(temp, path);
        }
      } finally {
        await unlink(temp).catch(() => {});
      }
      if ((await readOrUndefined(path)) !== content) continue; // lost a simultaneous takeover
      try {
        await this.#saveToken(cluster, holder.fencingToken);
      } catch (error) {
        await releaseIfOurs(path, content);
        throw error;
      }
      return { ok: true, lease: this.#lease(cluster, path, holder, content, leaseMs, acquiredAt) };
    }
    const holder = await this.holder(cluster);
    if (holder) return { ok: false, holder };
    throw new Error(`could not acquire the lock ${path}: it kept changing under us`);
  }

  async holder(cluster: string): Promise<LockHolder | undefined> {
    const content = await readOrUndefined(this.#lockPath(cluster));
    const holder = content === undefined ? undefined : parseHolder(content);
    return holder && holder.expiresAt > Date.now() ? holder : undefined;
  }

  #lease(
    cluster: string,
    path: string,
    holder: LockHolder,
    content: string,
    leaseMs: number,
    acquiredAt: number,
  ): RenewingLease {
    let ours = content;
    return new RenewingLease({
      cluster,
      fencingToken: holder.fencingToken,
      leaseMs,
      acquiredAt,
      log: this.#log,
      renew: async () => {
        if ((await readOrUndefined(path)) !== ours) return false;
        const renewed = JSON.stringify({ ...holder, expiresAt: Date.now() + leaseMs });
        const temp = await writeTemp(this.#dir, renewed);
        try {
          await rename(temp, path);
        } catch (error) {
          await unlink(temp).catch(() => {});
          throw error;
        }
        ours = renewed;
        return true;
      },
      release: () => releaseIfOurs(path, ours),
    });
  }

  #lockPath(cluster: string): string {
    return join(this.#dir, `${fileSafe(cluster)}.json`);
  }

  #tokenPath(cluster: string): string {
    return join(this.#dir, `${fileSafe(cluster)}.token`);
  }

  async #lastToken(cluster: string): Promise<number> {
    const path = this.#tokenPath(cluster);
    const content = await readOrUndefined(path);
    if (content === undefined) return 0;
    const token = Number(content.trim());
    // Starting again from 1 would hand out tokens that fenced-off holders already have.
    if (!Number.isSafeInteger(token) || token < 0) {
      throw new Error(
        `${path} holds no fencing token (${JSON.stringify(content.slice(0, 40))}): write into it a number above every token used for ${cluster} before`,
      );
    }
    return token;
  }

  /** The token must survive a crash, or a later holder could be given the same one again. */
  async #saveToken(cluster: string, token: number): Promise<void> {
    const temp = await writeTemp(this.#dir, `${token}\n`, { sync: true });
    try {
      await rename(temp, this.#tokenPath(cluster));
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    await syncDir(this.#dir);
  }
}

/** First-writer-wins decisions as files `<dir>/decisions/<sha256(key)>`, created exclusively. */
export class FileDecisions implements Decisions {
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Removes decisions older than their ttl: claims are only checked against what exists. */
  static async open(stateDir: string, log: Logger): Promise<FileDecisions> {
    const dir = join(resolve(stateDir), "decisions");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const now = Date.now();
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      try {
        const { expiresAt } = JSON.parse(await readFile(path, "utf8")) as { expiresAt?: unknown };
        if (typeof expiresAt === "number" && expiresAt < now) await unlink(path);
      } catch (error) {
        log.debug({ path, err: String(error) }, "leaving an unreadable decision file alone");
      }
    }
    return new FileDecisions(dir);
  }

  /** The value recorded under `key`, if any. */
  async read(key: string): Promise<string | undefined> {
    const content = await readOrUndefined(join(this.#dir, decisionName(key)));
    if (content === undefined) return undefined;
    try {
      const { value } = JSON.parse(content) as { value?: unknown };
      return typeof value === "string" ? value : undefined;
    } catch {
      return undefined; // being written right now, or torn by a crash
    }
  }

  async claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    const name = decisionName(key);
    const content = JSON.stringify({ key, value, expiresAt: Date.now() + ttlMs });
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(join(this.#dir, name), "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
    try {
      await file.writeFile(content);
      await file.datasync();
    } finally {
      await file.close();
    }
    return true;
  }
}

function decisionName(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Cluster names as file names: anything but [A-Za-z0-9_-] (and so "." and "/") is %-escaped. */
function fileSafe(name: string): string {
  return name.replace(
    /[^A-Za-z0-9_-]/g,
    (char) =>
      `%${[...Buffer.from(char, "utf8")].map((byte) => byte.toString(16).padStart(2, "0")).join("%")}`,
  );
}

function parseHolder(content: string): LockHolder | undefined {
  try {
    const value = JSON.parse(content) as Partial<LockHolder> | null;
    if (
      typeof value?.runId === "string" &&
      typeof value.instance === "string" &&
      typeof value.fencingToken === "number" &&
      typeof value.expiresAt === "number"
    ) {
      return value as LockHolder;
    }
  } catch {
    // unreadable: treated as free
  }
  return undefined;
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function writeTemp(
  dir: string,
  content: string,
  options?: { sync: boolean },
): Promise<string> {
  const path = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const file = await open(path, "wx", 0o600);
  try {
    await file.writeFile(content);
    if (options?.sync) await file.sync();
  } finally {
    await file.close();
  }
  return path;
}

async function linkExclusive(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

async function releaseIfOurs(path: string, content: string): Promise<void> {
  if ((await readOrUndefined(path)) === content) await unlink(path).catch(() => {});
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
