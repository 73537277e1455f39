import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./addresses.js";
import { descendants, isAlive, killPids, processesWithEnv, waitUntilGone } from "./proc-tree.js";
import { makeTempRoot, type TempRoot } from "./temp.js";

/**
 * A real OpenSSH sshd on a loopback address, in the foreground under the test process, with its
 * own host keys, config and authorised user key in a temp dir. It runs as init of its own PID
 * namespace (like a separate machine): it reaps orphaned session processes, and its death kills
 * everything its sessions started.
 */

const execFileAsync = promisify(execFile);
const SSHD = "/usr/sbin/sshd";
const LOG_LIMIT = 256 * 1024;

export type HostKeyAlgorithm = "ed25519" | "ecdsa" | "rsa";

export interface UserKey {
  privateKeyFile: string;
  /** "ssh-ed25519 AAAA... comment", as in the .pub file. */
  publicKey: string;
}

export interface SshdHostKey {
  /** "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa". */
  keyType: string;
  /** "<keyType> AAAA..." (no comment). */
  publicKey: string;
  /** "SHA256:...", as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The line `ssh-keyscan` would print for this key. */
  knownHostsLine: string;
}

export interface SshdOptions {
  host: string;
  /** Default: a free port picked by the kernel. */
  port?: number;
  /** Where to keep keys and config; default: a fresh temp dir, removed by stop(). */
  dir?: string;
  /** Host key types, in sshd's order of preference. Default: ["ed25519"]. */
  hostKeyTypes?: HostKeyAlgorithm[];
  /** Authorise this key pair instead of generating one, so several sshds share one bot key. */
  userKey?: UserKey;
  /** Further authorized_keys lines. */
  authorizedKeys?: string[];
  /** Environment for every session (sshd's SetEnv), e.g. a PATH that puts a broken tool first. */
  env?: Record<string, string>;
  /** sshd's MaxSessions (channels per connection). Default 32. */
  maxSessions?: number;
  /**
   * Run the login user's shell rc files (root's ~/.bashrc) in every session, as on a real host.
   * Default false: HOME is an empty directory, so a session costs no rc files. This machine's
   * ~/.bashrc may run `pyenv rehash`, which serialises every login on one lock file and waits
   * up to 60 s on a lock left by a killed session.
   */
  rcFiles?: boolean;
}

export interface SshdHandle {
  readonly host: string;
  readonly port: number;
  readonly user: "root";
  readonly dir: string;
  /** The listening sshd (pid as seen from the test process). */
  readonly pid: number;
  readonly userKey: UserKey;
  readonly privateKeyFile: string;
  readonly publicKey: string;
  /** Every host key; the first one is also exposed below. */
  readonly hostKeys: SshdHostKey[];
  /** "ssh-ed25519 AAAA..." (no comment). */
  readonly hostPublicKey: string;
  /** "SHA256:...", as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** As `ssh-keyscan` prints it: "[host]:port ssh-ed25519 AAAA..." (plain host on port 22). */
  readonly knownHostsLine: string;
  /** Writes (or appends) knownHostsLine to a file. */
  writeKnownHosts(path: string, options?: { append?: boolean }): Promise<void>;
  /** sshd's log so far (the tail, if long). */
  log(): string;
  /** Sessions (remote commands, scp, sftp) sshd has started so far. */
  sessions(): number;
  /** Kills the per-connection sshd processes, as if every connection dropped. Returns how many. */
  killSessions(): Promise<number>;
  /** Kills sshd, its connections and every process its sessions started; waits until gone. */
  stop(): Promise<void>;
}

const running = new Set<RunningSshd>();
process.once("exit", () => {
  for (const sshd of running) sshd.killNow();
});

/** Stops every sshd this process started (for afterAll, or after a failed test). */
export async function stopAllSshd(): Promise<void> {
  await Promise.all([...running].map((sshd) => sshd.stop()));
}

async function keygen(
  file: string,
  comment: string,
  options: { type?: HostKeyAlgorithm; passphrase?: string } = {},
): Promise<void> {
  const type = options.type ?? "ed25519";
  const bits = type === "rsa" ? ["-b", "2048"] : type === "ecdsa" ? ["-b", "256"] : [];
  await execFileAsync("ssh-keygen", [
    "-q",
    "-t",
    type,
    ...bits,
    "-N",
    options.passphrase ?? "",
    "-C",
    comment,
    "-f",
    file,
  ]);
}

/** A fresh ed25519 key pair in `dir` (file name `name`, default id_ed25519). */
export async function generateUserKey(
  dir: string,
  options: { name?: string; passphrase?: string } = {},
): Promise<UserKey> {
  const privateKeyFile = join(dir, options.name ?? "id_ed25519");
  await keygen(privateKeyFile, "redis-failover-bot-test", options);
  const publicKey = (await readFile(`${privateKeyFile}.pub`, "utf8")).trim();
  return { privateKeyFile, publicKey };
}

/** `ssh-keygen -lf file` → "SHA256:..." */
export async function fingerprintOfFile(file: string): Promise<string> {
  const { stdout } = await execFileAsync("ssh-keygen", ["-l", "-E", "sha256", "-f", file]);
  const fingerprint = stdout.split(/\s+/)[1];
  if (!fingerprint?.startsWith("SHA256:"))
    throw new Error(`unexpected ssh-keygen output: ${stdout}`);
  return fingerprint;
}

/** What `ssh-keygen -lf` prints for a public key blob, without running it. */
function fingerprintOf(base64Blob: string): string {
  const digest = createHash("sha256").update(Buffer.from(base64Blob, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

async function makeHostKey(dir: string, host: string, type: HostKeyAlgorithm) {
  const file = join(dir, `ssh_host_${type}_key`);
  await keygen(file, `sshd-harness@${host}`, { type });
  const [keyType = "", base64 = ""] = (await readFile(`${file}.pub`, "utf8")).trim().split(/\s+/);
  return {
    file,
    keyType,
    publicKey: `${keyType} ${base64}`,
    fingerprint: fingerprintOf(base64),
  };
}

function sshdConfig(
  dir: string,
  listen: string,
  hostKeyFiles: string[],
  marker: string,
  env: Record<string, string>,
  maxSessions: number,
): string {
  const setEnv = [marker, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)].join(
    " ",
  );
  return `${[
    `ListenAddress ${listen}`,
    ...hostKeyFiles.map((file) => `HostKey ${file}`),
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "StrictModes no",
    "UsePAM no",
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    "PrintMotd no",
    "PrintLastLog no",
    "UseDNS no",
    // One "Starting session" line per command, so the bench can count remote round trips.
    "LogLevel VERBOSE",
    `MaxSessions ${maxSessions}`,
    // As Debian ships it: scp (OpenSSH 9) speaks SFTP by default.
    "Subsystem sftp /usr/lib/openssh/sftp-server",
    "MaxStartups 64:30:128",
    // Marks every process a session starts, so stop() can find them even once orphaned.
    `SetEnv ${setEnv}`,
  ].join("\n")}\n`;
}

export async function startSshd(options: SshdOptions): Promise<SshdHandle> {
  const { host } = options;
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  let temp: TempRoot | undefined;
  let dir = options.dir;
  if (dir === undefined) {
    temp = await makeTempRoot(`sshd-${host}`);
    dir = temp.path;
  }
  try {
    await mkdir(dir, { recursive: true });
    const hostKeys = await Promise.all(
      (options.hostKeyTypes ?? ["ed25519"]).map((type) => makeHostKey(dir, host, type)),
    );
    const userKey = options.userKey ?? (await generateUserKey(dir));
    const authorized = [userKey.publicKey, ...(options.authorizedKeys ?? [])];
    await writeFile(join(dir, "authorized_keys"), `${authorized.join("\n")}\n`);

    const marker = `RFB_SSHD_HARNESS=${randomUUID()}`;
    const env = { ...options.env };
    if (!options.rcFiles && env.HOME === undefined) {
      env.HOME = join(dir, "home");
      await mkdir(env.HOME, { recursive: true });
    }
    const configFile = join(dir, "sshd_config");
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort(host));
      const listen = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
      await writeFile(
        configFile,
        sshdConfig(
          dir,
          listen,
          hostKeys.map((k) => k.file),
          marker,
          env,
          options.maxSessions ?? 32,
        ),
      );
      try {
        const launched = await launch(configFile);
        const sshd = new RunningSshd(launched, {
          host,
          port,
          dir,
          userKey,
          hostKeys: hostKeys.map(({ keyType, publicKey, fingerprint }) => ({
            keyType,
            publicKey,
            fingerprint,
            knownHostsLine: `${knownHostsName(host, port)} ${publicKey}`,
          })),
          marker,
          temp,
        });
        running.add(sshd);
        return sshd;
      } catch (error) {
        // The kernel's free port can be taken before sshd binds it: pick another.
        const portTaken = String(error).includes("Address already in use");
        if (options.port !== undefined || !portTaken || attempt >= 5) throw error;
      }
    }
  } catch (error) {
    await temp?.cleanup();
    throw error;
  }
}

interface Launched {
  child: ChildProcess;
  /** The sshd listener, child of `unshare`. */
  pid: number;
  log: { text: string; sessions: number };
  exited: Promise<void>;
}

function launch(configFile: string): Promise<Launched> {
  const child = spawn(
    "unshare",
    ["--pid", "--fork", "--mount-proc", "--kill-child", SSHD, "-D", "-e", "-f", configFile],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const log = { text: "", sessions: 0 };
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    // Per-connection sshd processes write here too: keep draining, or they block on a full pipe.
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      log.text = (log.text + text).slice(-LOG_LIMIT);
      log.sessions += text.match(/Starting session:/g)?.length ?? 0;
      if (child.pid === undefined || !/Server listening on/.test(log.text)) return;
      const listener = descendants(child.pid).find((p) => p.comm === "sshd");
      if (listener) resolve({ child, pid: listener.pid, log, exited });
      else reject(new Error("sshd says it is listening but its process was not found"));
    });
    void exited.then(() => reject(new Error(`sshd exited during startup:\n${log.text}`)));
  });
}

interface SshdSetup {
  host: string;
  port: number;
  dir: string;
  userKey: UserKey;
  hostKeys: SshdHostKey[];
  marker: string;
  temp: TempRoot | undefined;
}

class RunningSshd implements SshdHandle {
  readonly user = "root";
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  readonly userKey: UserKey;
  readonly hostKeys: SshdHostKey[];
  readonly #launched: Launched;
  readonly #marker: string;
  readonly #temp: TempRoot | undefined;
  #stopping: Promise<void> | undefined;

  constructor(launched: Launched, setup: SshdSetup) {
    this.#launched = launched;
    this.pid = launched.pid;
    this.host = setup.host;
    this.port = setup.port;
    this.dir = setup.dir;
    this.userKey = setup.userKey;
    this.hostKeys = setup.hostKeys;
    this.#marker = setup.marker;
    this.#temp = setup.temp;
  }

  get #primary(): SshdHostKey {
    const key = this.hostKeys[0];
    if (!key) throw new Error("sshd has no host key");
    return key;
  }

  get privateKeyFile(): string {
    return this.userKey.privateKeyFile;
  }

  get publicKey(): string {
    return this.userKey.publicKey;
  }

  get hostPublicKey(): string {
    return this.#primary.publicKey;
  }

  get hostKeyFingerprint(): string {
    return this.#primary.fingerprint;
  }

  get knownHostsLine(): string {
    return this.#primary.knownHostsLine;
  }

  async writeKnownHosts(path: string, options: { append?: boolean } = {}): Promise<void> {
    const line = `${this.knownHostsLine}\n`;
    await (options.append ? appendFile(path, line) : writeFile(path, line));
  }

  log(): string {
    return this.#launched.log.text;
  }

  sessions(): number {
    return this.#launched.log.sessions;
  }

  async killSessions(): Promise<number> {
    const sessions = descendants(this.pid)
      .filter((p) => p.comm === "sshd")
      .map((p) => p.pid);
    killPids(sessions);
    await waitUntilGone(sessions);
    return sessions.length;
  }

  /** Everything this sshd is responsible for, listener first (its death ends the namespace). */
  #victims(): number[] {
    const launcher = this.#launched.child.pid;
    const tree = isAlive(this.pid) ? descendants(this.pid).map((p) => p.pid) : [];
    const pids = [this.pid, ...tree, ...processesWithEnv(this.#marker)];
    return launcher === undefined ? pids : [...pids, launcher];
  }

  killNow(): void {
    killPids(this.#victims());
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const victims = this.#victims();
      killPids(victims);
      await this.#launched.exited;
      await waitUntilGone([...victims, ...processesWithEnv(this.#marker)]);
      running.delete(this);
      await this.#temp?.cleanup();
    })();
    return this.#stopping;
  }
}
