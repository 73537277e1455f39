import { FailoverError } from "../../errors.js";
import { asidePath, partialPath, remote } from "../../plan/commands.js";
import type { HostRef, StepSpec } from "../../plan/types.js";
import { relay } from "../relay.js";
import type { StepContext, StepImplementation } from "../step-context.js";

type Spec = Extract<StepSpec, { kind: "copy-rdb" }>;

/**
 * Copies the snapshot to the spare under a temporary name, proves it identical (size and
 * SHA-256 on both ends and in flight) and loadable (redis-check-rdb), and only then gives it
 * its real name. A failed copy leaves the spare's existing files as they were.
 */
export const copyRdb: StepImplementation<Spec> = {
  async run(spec, context) {
    const partial = partialPath(spec.targetPath, context.runId);
    try {
      await copyAndVerify(spec, partial, context);
    } catch (error) {
      await removeQuietly(context, spec.to, partial);
      throw error;
    }
    await context.shell(
      spec.to,
      remote.install(partial, spec.targetPath, asidePath(spec.targetPath, context.runId)),
    );
  },
  async alreadyDone(spec, context) {
    const copied = context.facts.copy;
    if (!copied || copied.targetPath !== spec.targetPath) return undefined;
    const result = await context.shell(spec.to, remote.sha256(spec.targetPath), {
      allowFailure: true,
    });
    return result.code === 0 && firstWord(result.stdout) === copied.sha256
      ? `${spec.targetPath} on ${spec.to.name} already holds the snapshot (SHA-256 ${copied.sha256})`
      : undefined;
  },
  advice(spec, context) {
    return [
      `${spec.from.name} was only read: it is unchanged and still holds its data.`,
      `Nothing was started on ${spec.to.name}; the partial file ${partialPath(spec.targetPath, context.runId)} was removed (check free space in ${dirOf(spec.targetPath)} on ${spec.to.name}).`,
    ];
  },
};

async function copyAndVerify(spec: Spec, partial: string, context: StepContext): Promise<void> {
  const long = { timeoutMs: context.timeouts.copyMs };
  context.output(
    `[${spec.from.name}] $ ${remote.read(spec.sourcePath)}  |  bot  |  [${spec.to.name}] $ ${remote.write(partial)}`,
  );
  // The source's size and hash are read while the bytes flow: nothing waits on them.
  const [source, copied] = await Promise.all([
    context
      .shell(spec.from, remote.sizeAndSha256(spec.sourcePath), long)
      .then((result) => parseSizeAndHash(result.stdout)),
    relay(
      { host: context.remote(spec.from), command: remote.read(spec.sourcePath) },
      { host: context.remote(spec.to), command: remote.write(partial) },
      { timeoutMs: context.timeouts.copyMs, onProgress: (line) => context.output(line) },
    ),
  ]);
  const rate =
    copied.durationMs > 0
      ? (copied.bytes / 1024 / 1024 / (copied.durationMs / 1000)).toFixed(1)
      : "∞";
  context.output(
    `Relayed ${copied.bytes} bytes in ${copied.durationMs} ms (${rate} MiB/s), SHA-256 in flight ${copied.sha256}`,
  );
  // Reading the copy back and checking its structure both read the file: side by side.
  const [target, check] = await Promise.allSettled([
    context
      .shell(spec.to, remote.sizeAndSha256(partial), long)
      .then((result) => parseSizeAndHash(result.stdout)),
    spec.checkRdb
      ? context.shell(spec.to, remote.checkRdb(partial), long)
      : Promise.resolve(undefined),
  ]);
  if (target.status === "rejected") throw target.reason;
  if (copied.bytes !== source.bytes || target.value.bytes !== source.bytes) {
    throw new FailoverError(
      "VERIFY_FAILED",
      `size mismatch: ${spec.from.name} has ${source.bytes} bytes, ${copied.bytes} were relayed, ${spec.to.name} wrote ${target.value.bytes}`,
    );
  }
  if (source.sha256 !== copied.sha256 || copied.sha256 !== target.value.sha256) {
    throw new FailoverError(
      "VERIFY_FAILED",
      `the copy is corrupt: SHA-256 on ${spec.from.name} ${source.sha256}, in flight ${copied.sha256}, on ${spec.to.name} ${target.value.sha256}`,
    );
  }
  context.output(
    `SHA-256 matches on ${spec.from.name}, in flight and on ${spec.to.name}; sizes match (${source.bytes} bytes).`,
  );
  if (check.status === "rejected") throw check.reason;
  if (!spec.checkRdb) {
    context.warn(
      `redis-check-rdb is not installed on ${spec.to.name}; the file's structure was not checked (its hash was).`,
    );
  }
  context.facts.copy = {
    bytes: copied.bytes,
    sha256: copied.sha256,
    durationMs: copied.durationMs,
    targetPath: spec.targetPath,
  };
}

/** `wc -c` then `sha256sum` output: "1234\n<hash>  <path>". */
function parseSizeAndHash(stdout: string): { bytes: number; sha256: string } {
  const [size = "", hashLine = ""] = stdout.trim().split("\n");
  return { bytes: Number(size.trim()), sha256: firstWord(hashLine) };
}

async function removeQuietly(context: StepContext, host: HostRef, path: string): Promise<void> {
  try {
    await context.remote(host).exec(remote.remove(path), { timeoutMs: 30_000 });
  } catch (error) {
    context.log.warn({ err: String(error), path }, "could not remove the partial copy");
  }
}

function firstWord(text: string): string {
  return text.trim().split(/\s+/)[0] ?? "";
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}
