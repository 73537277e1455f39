import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FailoverError, isFailoverError } from "../../src/errors.js";
import { sh } from "../../src/remote/shell.js";
import { SshHost, type SshHostOptions } from "../../src/remote/ssh-host.js";
import { type AddressBlock, allocateAddressBlock, freePort } from "../harness/addresses.js";
import {
  fingerprintOfFile,
  generateUserKey,
  type SshdHandle,
  startSshd,
  stopAllSshd,
  type UserKey,
} from "../harness/sshd.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";
import { remoteHostContract } from "./host-contract.js";
import { waitFor } from "./wait-for.js";

const execFileAsync = promisify(execFile);
const PASSPHRASE = "correct horse battery staple";

let temp: TempRoot;
let block: AddressBlock;
let sshd: SshdHandle;
let knownHosts: string;
let host: SshHost;
let encryptedKey: UserKey;
/** Hosts made by a single test, closed after it. */
const extraHosts: SshHost[] = [];

function options(overrides: Partial<SshHostOptions> = {}): SshHostOptions {
  return {
    name: "redis-a",
    host: sshd.host,
    port: sshd.port,
    user: "root",
    privateKey: sshd.privateKeyFile,
    knownHostsFile: knownHosts,
    connectTimeoutMs: 5_000,
    ...overrides,
  };
}

function makeHost(overrides: Partial<SshHostOptions> = {}): SshHost {
  const made = new SshHost(options(overrides));
  extraHosts.push(made);
  return made;
}

async function failure(promise: Promise<unknown>): Promise<FailoverError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isFailoverError(error)) throw new Error(`expected a FailoverError, got ${String(error)}`);
  return error;
}

async function knownHostsFile(name: string, lines: string[]): Promise<string> {
  const path = join(temp.path, name);
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

beforeAll(async () => {
  temp = await makeTempRoot("ssh-host");
  block = allocateAddressBlock();
  encryptedKey = await generateUserKey(temp.path, { name: "id_encrypted", passphrase: PASSPHRASE });
  sshd = await startSshd({ host: block.ip(1), authorizedKeys: [encryptedKey.publicKey] });
  knownHosts = join(temp.path, "known_hosts");
  await sshd.writeKnownHosts(knownHosts);
  host = new SshHost(options());
});

afterEach(async () => {
  await Promise.all(extraHosts.splice(0).map((h) => h.close()));
});

afterAll(async () => {
  await host?.close();
  await stopAllSshd();
  await temp?.cleanup();
});

describe("SshHost against a real sshd", () => {
  remoteHostContract({ host: () => host, dir: () => temp.path });

  it("is addressed user@host:port and reuses one connection for every command", async () => {
    expect(host.address).toBe(`root@${sshd.host}:${sshd.port}`);
    const connections = await Promise.all(
      [1, 2, 3, 4].map(() => host.exec(sh`echo $SSH_CONNECTION`)),
    );
    const later = await host.exec(sh`echo $SSH_CONNECTION`);
    const distinct = new Set([...connections, later].map((r) => r.stdout));
    expect(distinct.size).toBe(1);
    expect(later.stdout).toContain(`${sshd.host} ${sshd.port}`);
  });

  it("reconnects on the next call after the connection drops", async () => {
    const before = (await host.exec(sh`echo $SSH_CONNECTION`)).stdout;
    expect(await sshd.killSessions()).toBeGreaterThan(0);
    const after = await host.exec(sh`echo $SSH_CONNECTION`);
    expect(after.code).toBe(0);
    expect(after.stdout).not.toBe(before); // a new client port: a new connection
  });

  it("a command running when the connection drops rejects with SSH_UNREACHABLE", async () => {
    const dropped = makeHost();
    const error = await failure(
      dropped.exec(sh`echo started; sleep 1000`, {
        onOutput: () => void sshd.killSessions(),
      }),
    );
    expect(error.code).toBe("SSH_UNREACHABLE");
    expect(error.message).toMatch(/lost the SSH connection to redis-a/i);
    expect(error.message).toContain("may or may not have completed");
  });

  it("spawn: a dropped connection ends the command's streams and exit reports code null", async () => {
    const dropped = makeHost();
    const proc = await dropped.spawn(sh`echo started; sleep 1000`);
    proc.stderr.resume();
    await new Promise((resolve) => proc.stdout.once("data", resolve));
    proc.stdout.resume();
    await sshd.killSessions();
    expect(await proc.exit).toEqual({ code: null, signal: null });
  });

  it("close() kills the commands still running; a later call reconnects", async () => {
    const closing = makeHost();
    let pid = 0;
    const running = closing.exec(sh`sleep 1000 & echo $!; wait`, {
      onOutput: (chunk) => {
        pid = Number(chunk.trim());
      },
    });
    await waitFor("the command to start", () => pid > 0);
    await closing.close();
    await running.catch(() => undefined);
    await waitFor("the sleep to be killed", async () => {
      const check = await closing.exec(sh`kill -0 ${pid} 2>/dev/null`);
      return check.code !== 0;
    });
  });

  describe("host key verification", () => {
    it("refuses a changed host key with SSH_HOST_KEY_CHANGED, naming both fingerprints", async () => {
      const impostor = await generateUserKey(temp.path, { name: "impostor_host_key" });
      const impostorFingerprint = await fingerprintOfFile(impostor.privateKeyFile);
      const [type, base64] = impostor.publicKey.split(" ");
      const file = await knownHostsFile("known_hosts_changed", [
        `[${sshd.host}]:${sshd.port} ${type} ${base64}`,
      ]);
      const error = await failure(makeHost({ knownHostsFile: file }).exec(sh`true`));
      expect(error.code).toBe("SSH_HOST_KEY_CHANGED");
      expect(error.message).toContain("redis-a");
      expect(error.message).toContain(`root@${sshd.host}:${sshd.port}`);
      expect(error.message).toContain(`presented ssh-ed25519 ${sshd.hostKeyFingerprint}`);
      expect(error.message).toContain(impostorFingerprint);
      expect(error.message).toContain(`ssh-keygen -R '[${sshd.host}]:${sshd.port}' -f ${file}`);
    });

    it("refuses an unknown host with SSH_HOST_KEY_UNKNOWN and says how to add it", async () => {
      const file = await knownHostsFile("known_hosts_other", [
        `[${block.ip(99)}]:${sshd.port} ${sshd.hostPublicKey}`,
        `${sshd.host} ${sshd.hostPublicKey}`, // port 22 only: not this port
      ]);
      const error = await failure(makeHost({ knownHostsFile: file }).exec(sh`true`));
      expect(error.code).toBe("SSH_HOST_KEY_UNKNOWN");
      expect(error.message).toContain(`presented ssh-ed25519 ${sshd.hostKeyFingerprint}`);
      expect(error.message).toContain(`ssh-keyscan -p ${sshd.port} ${sshd.host} >> ${file}`);

      const missing = join(temp.path, "no_such_known_hosts");
      const noFile = await failure(makeHost({ knownHostsFile: missing }).exec(sh`true`));
      expect(noFile.code).toBe("SSH_HOST_KEY_UNKNOWN");
      expect(noFile.message).toContain(`${missing} does not exist`);
    });

    it("refuses a key marked @revoked with SSH_HOST_KEY_REVOKED", async () => {
      const file = await knownHostsFile("known_hosts_revoked", [
        sshd.knownHostsLine,
        `@revoked * ${sshd.hostPublicKey}`,
      ]);
      const error = await failure(makeHost({ knownHostsFile: file }).exec(sh`true`));
      expect(error.code).toBe("SSH_HOST_KEY_REVOKED");
      expect(error.message).toContain(sshd.hostKeyFingerprint);
      expect(error.message).toContain("line 2");
    });

    it("offers only the key types known_hosts lists, so other server key types are no false alarm", async () => {
      const multi = await startSshd({
        host: block.ip(2),
        hostKeyTypes: ["ed25519", "ecdsa"],
        userKey: sshd.userKey,
      });
      try {
        const ecdsa = multi.hostKeys.find((k) => k.keyType === "ecdsa-sha2-nistp256");
        const file = await knownHostsFile("known_hosts_ecdsa", [ecdsa?.knownHostsLine ?? ""]);
        const viaEcdsa = makeHost({ host: multi.host, port: multi.port, knownHostsFile: file });
        expect((await viaEcdsa.exec(sh`echo ok`)).stdout).toBe("ok\n");
        // Without the restriction ssh2 would have negotiated ed25519, its first choice:
        const pinned = makeHost({
          host: multi.host,
          port: multi.port,
          hostKey: ecdsa?.fingerprint,
        });
        const unrestricted = await failure(pinned.exec(sh`true`));
        expect(unrestricted.message).toContain(`presented ssh-ed25519 ${multi.hostKeyFingerprint}`);
      } finally {
        await multi.stop();
      }
    });

    it("refuses with SSH_HOST_KEY_CHANGED when the server has none of the known key types", async () => {
      const rsaFile = join(temp.path, "old_rsa_host_key");
      await execFileAsync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsaFile]);
      const [rsaType, rsaBase64] = (await readFile(`${rsaFile}.pub`, "utf8")).split(" ");
      const file = await knownHostsFile("known_hosts_rsa", [
        `[${sshd.host}]:${sshd.port} ${rsaType} ${rsaBase64}`,
      ]);
      const error = await failure(makeHost({ knownHostsFile: file }).exec(sh`true`));
      expect(error.code).toBe("SSH_HOST_KEY_CHANGED");
      expect(error.message).toContain("offers none of the host key types");
      expect(error.message).toContain("(ssh-rsa)");
    });

    it("accepts a pinned fingerprint without known_hosts, and refuses a wrong pin", async () => {
      const pinned = makeHost({ knownHostsFile: undefined, hostKey: sshd.hostKeyFingerprint });
      expect((await pinned.exec(sh`echo pinned`)).stdout).toBe("pinned\n");

      const wrongPin = `SHA256:${"A".repeat(43)}`;
      const wrong = makeHost({ knownHostsFile: undefined, hostKey: wrongPin });
      const error = await failure(wrong.exec(sh`true`));
      expect(error.code).toBe("SSH_HOST_KEY_CHANGED");
      expect(error.message).toContain(`presented ssh-ed25519 ${sshd.hostKeyFingerprint}`);
      expect(error.message).toContain(wrongPin);
    });

    it("requires knownHostsFile or hostKey, and a well-formed pin", () => {
      expect(() => new SshHost(options({ knownHostsFile: undefined }))).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID" }),
      );
      expect(() => new SshHost(options({ hostKey: "MD5:aa:bb" }))).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID" }),
      );
    });
  });

  describe("authentication and reachability", () => {
    it("refuses a user key the server does not accept with SSH_AUTH_FAILED", async () => {
      const stranger = await generateUserKey(temp.path, { name: "id_stranger" });
      const error = await failure(makeHost({ privateKey: stranger.privateKeyFile }).exec(sh`true`));
      expect(error.code).toBe("SSH_AUTH_FAILED");
      expect(error.message).toContain("redis-a");
      expect(error.message).toContain(stranger.privateKeyFile);
      const keyText = await readFile(stranger.privateKeyFile, "utf8");
      const keyBody = keyText.split("\n")[1] ?? "";
      expect(keyBody.length).toBeGreaterThan(20);
      expect(error.message).not.toContain(keyBody);
    });

    it("uses a passphrase-protected key, and reports a wrong passphrase without echoing it", async () => {
      const withPassphrase = makeHost({
        privateKey: encryptedKey.privateKeyFile,
        passphrase: PASSPHRASE,
      });
      expect((await withPassphrase.exec(sh`echo in`)).stdout).toBe("in\n");

      const wrongPassphrase = "not the passphrase";
      const error = await failure(
        makeHost({ privateKey: encryptedKey.privateKeyFile, passphrase: wrongPassphrase }).exec(
          sh`true`,
        ),
      );
      expect(error.code).toBe("SSH_AUTH_FAILED");
      expect(error.message).toContain(encryptedKey.privateKeyFile);
      expect(error.message).not.toContain(wrongPassphrase);
      expect(error.message).not.toContain(PASSPHRASE);
    });

    it("accepts the private key as a Buffer; a missing key file is SSH_AUTH_FAILED", async () => {
      const fromBuffer = makeHost({ privateKey: await readFile(sshd.privateKeyFile) });
      expect((await fromBuffer.exec(sh`echo buffer`)).stdout).toBe("buffer\n");

      const missing = join(temp.path, "no_such_key");
      const error = await failure(makeHost({ privateKey: missing }).exec(sh`true`));
      expect(error.code).toBe("SSH_AUTH_FAILED");
      expect(error.message).toContain(missing);
    });

    it("reports SSH_UNREACHABLE at once when nothing listens", async () => {
      const ip = block.ip(3);
      const port = await freePort(ip);
      const error = await failure(makeHost({ host: ip, port }).exec(sh`true`));
      expect(error.code).toBe("SSH_UNREACHABLE");
      expect(error.message).toContain(`redis-a (root@${ip}:${port})`);
      // The refusal itself, not the connect timeout running out.
      expect(error.message).toContain("connection refused");
      expect(error.message).not.toMatch(/no SSH handshake within/);
    });

    it("reports SSH_UNREACHABLE after connectTimeoutMs when the server never speaks", async () => {
      const ip = block.ip(4);
      const sockets = new Set<Socket>();
      const silent: Server = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, ip, resolve));
      try {
        const address = silent.address();
        const port = typeof address === "object" && address ? address.port : 0;
        const error = await failure(
          makeHost({ host: ip, port, connectTimeoutMs: 300 }).exec(sh`true`),
        );
        expect(error.code).toBe("SSH_UNREACHABLE");
        expect(error.message).toContain("no SSH handshake within 0.3s");
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });
});
