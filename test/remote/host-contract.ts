import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isFailoverError } from "../../src/errors.js";
import { sh } from "../../src/remote/shell.js";
import type { RemoteHost, RemoteProcess } from "../../src/remote/types.js";
import { waitFor } from "./wait-for.js";

export interface ContractSetup {
  host(): RemoteHost;
  /** A directory both the test process and the host's commands can use. */
  dir(): string;
}

/** Reads all of a stream into one Buffer. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Pids of processes the tests killed (as seen by the host), for cleanup checks. */
export const killedPids = new Set<number>();

/** Whether a process seen by `host` is gone (zombies count as gone), asked on the host itself. */
export async function goneOn(host: RemoteHost, pid: number): Promise<boolean> {
  killedPids.add(pid);
  const result = await host.exec(
    sh`state=$(sed 's/.*) //' /proc/${pid}/stat 2>/dev/null | cut -c1); [ -z "$state" ] || [ "$state" = Z ]`,
  );
  return result.code === 0;
}

function drain(proc: RemoteProcess): void {
  proc.stderr.resume();
}

/** Behaviour every RemoteHost must have, whatever the transport. */
export function remoteHostContract(setup: ContractSetup): void {
  const host = () => setup.host();
  const file = (name: string) => join(setup.dir(), name);

  describe("RemoteHost contract", () => {
    it("exec returns stdout, stderr and a non-zero exit code without throwing", async () => {
      const result = await host().exec(sh`echo out; echo err >&2; exit 3`);
      expect(result).toEqual({ code: 3, signal: null, stdout: "out\n", stderr: "err\n" });
    });

    it("exec reports a command killed by a signal as signal, with code null", async () => {
      const result = await host().exec(sh`kill -TERM $$`);
      expect(result).toMatchObject({ code: null, signal: "SIGTERM" });
    });

    it("exec writes stdin then closes it; without stdin the command reads EOF at once", async () => {
      const withInput = await host().exec(sh`cat; echo done`, { stdin: "line 1\nline 2\n" });
      expect(withInput.stdout).toBe("line 1\nline 2\ndone\n");
      const withoutInput = await host().exec(sh`cat; echo done`, { timeoutMs: 10_000 });
      expect(withoutInput.stdout).toBe("done\n");
    });

    it("onOutput receives output live, while the command is still running", async () => {
      // The command only finishes once the test has seen its first line.
      const trigger = file(`live-${randomBytes(4).toString("hex")}`);
      const seen: Array<[string, string]> = [];
      const result = await host().exec(
        sh`echo waiting; while [ ! -e ${trigger} ]; do sleep 0.01; done; echo finished >&2`,
        {
          timeoutMs: 20_000,
          onOutput: (chunk, stream) => {
            seen.push([stream, chunk]);
            if (chunk.includes("waiting")) void writeFile(trigger, "");
          },
        },
      );
      expect(result.code).toBe(0);
      expect(seen).toEqual([
        ["stdout", "waiting\n"],
        ["stderr", "finished\n"],
      ]);
    });

    it("onOutput decodes a UTF-8 character split across chunks", async () => {
      // "€" is e2 82 ac: the first two bytes arrive, then the last one once the test has seen "a".
      const trigger = file(`utf8-${randomBytes(4).toString("hex")}`);
      const chunks: string[] = [];
      const result = await host().exec(
        sh`printf 'a\\342\\202'; while [ ! -e ${trigger} ]; do sleep 0.01; done; printf '\\254\\n'`,
        {
          timeoutMs: 20_000,
          onOutput: (chunk) => {
            chunks.push(chunk);
            if (chunk.includes("a")) void writeFile(trigger, "");
          },
        },
      );
      expect(chunks[0]).toBe("a");
      expect(chunks.join("")).toBe("a€\n");
      expect(result.stdout).toBe("a€\n");
    });

    it("caps collected stdout and stderr at 1 MiB each, while onOutput sees everything", async () => {
      const live = { stdout: 0, stderr: 0 };
      const result = await host().exec(
        sh`head -c 3000000 /dev/zero | tr '\\0' x; head -c 2000000 /dev/zero | tr '\\0' y >&2`,
        { onOutput: (chunk, stream) => (live[stream] += chunk.length) },
      );
      expect(result.code).toBe(0);
      expect(result.stdout.length).toBe(1024 * 1024);
      expect(result.stderr.length).toBe(1024 * 1024);
      expect(live).toEqual({ stdout: 3_000_000, stderr: 2_000_000 });
    });

    it("timeout rejects with REMOTE_COMMAND_TIMEOUT and kills the command and its children", async () => {
      const pidFile = file(`timeout-${randomBytes(4).toString("hex")}`);
      const error = await host()
        .exec(sh`sleep 1000 & echo $! > ${pidFile}; wait`, { timeoutMs: 500 })
        .catch((e: unknown) => e);
      expect(isFailoverError(error, "REMOTE_COMMAND_TIMEOUT")).toBe(true);
      expect((error as Error).message).toContain(host().name);
      const pid = Number((await host().exec(sh`cat ${pidFile}`)).stdout);
      expect(pid).toBeGreaterThan(0);
      await waitFor("the timed-out sleep to be killed", () => goneOn(host(), pid));
    });

    it("an AbortSignal kills the command and rejects with ABORTED", async () => {
      const controller = new AbortController();
      let pid = 0;
      const error = await host()
        .exec(sh`sleep 1000 & echo $!; wait`, {
          signal: controller.signal,
          onOutput: (chunk) => {
            pid = Number(chunk.trim());
            controller.abort(new Error("operator cancelled"));
          },
        })
        .catch((e: unknown) => e);
      expect(isFailoverError(error, "ABORTED")).toBe(true);
      expect(pid).toBeGreaterThan(0);
      await waitFor("the aborted sleep to be killed", () => goneOn(host(), pid));
    });

    it("an already-aborted signal rejects without running the command", async () => {
      const marker = file(`never-${randomBytes(4).toString("hex")}`);
      const error = await host()
        .exec(sh`touch ${marker}`, { signal: AbortSignal.abort() })
        .catch((e: unknown) => e);
      expect(isFailoverError(error, "ABORTED")).toBe(true);
      const check = await host().exec(sh`test -e ${marker}`);
      expect(check.code).toBe(1);
    });

    it("runs several commands at once", async () => {
      // Each waits until all three have started: this only finishes if they run concurrently.
      const dir = file(`barrier-${randomBytes(4).toString("hex")}`);
      await host().exec(sh`mkdir -p ${dir}`);
      const results = await Promise.all(
        [1, 2, 3].map((i) =>
          host().exec(
            sh`touch ${dir}/${i}; while [ "$(ls ${dir} | wc -l)" -lt 3 ]; do sleep 0.01; done; echo ${i}`,
            { timeoutMs: 20_000 },
          ),
        ),
      );
      expect(results.map((r) => r.stdout)).toEqual(["1\n", "2\n", "3\n"]);
    });

    it("spawn: ending stdin sends EOF, so `cat > file` finishes and writes every byte", async () => {
      const target = file(`spawned-${randomBytes(4).toString("hex")}`);
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const proc = await host().spawn(sh`cat > ${target}`);
      drain(proc);
      proc.stdout.resume();
      proc.stdin.end(data);
      expect(await proc.exit).toEqual({ code: 0, signal: null });
      const remote = await host().exec(sh`sha256sum < ${target}`);
      expect(remote.stdout.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
    });

    it("spawn: stdout streams the command's output and exit reports its status", async () => {
      const proc = await host().spawn(sh`head -c 1000000 /dev/zero; echo oops >&2; exit 7`);
      const [stdout, stderr, status] = await Promise.all([
        readAll(proc.stdout),
        readAll(proc.stderr),
        proc.exit,
      ]);
      expect(stdout.length).toBe(1_000_000);
      expect(stderr.toString()).toBe("oops\n");
      expect(status).toEqual({ code: 7, signal: null });
    });

    it("spawn: timeoutMs and kill() end the command", async () => {
      const timed = await host().spawn(sh`sleep 1000`, { timeoutMs: 300 });
      drain(timed);
      timed.stdout.resume();
      expect((await timed.exit).code).toBeNull();

      const killed = await host().spawn(sh`sleep 1000 & echo $!; wait`);
      drain(killed);
      const firstLine = new Promise<string>((resolve) =>
        killed.stdout.once("data", (c) => resolve(String(c))),
      );
      const pid = Number((await firstLine).trim());
      killed.stdout.resume();
      killed.kill();
      expect((await killed.exit).code).toBeNull();
      await waitFor("the killed command to be gone", () => goneOn(host(), pid));
    });
  });
}
