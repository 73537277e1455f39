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
      remote.moveAsideIfPresent(spec.targetPath, asidePath(spec.targetPath, context.runId)),
    );
    await context.shell(spec.to, remote.rename(partial, spec.targetPath));
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
  const sizeResult = await context.shell(spec.from, remote.size(spec.sourcePath));
  const expectedBytes = Number(sizeResult.stdout.trim());
  context.output(`Source: ${spec.sourcePath} on ${spec.from.name}, ${expectedBytes} bytes`);
  context.output(
    `[${spec.from.name}] $ ${remote.read(spec.sourcePath)}  |  bot  |  [${spec.to.name}] $ ${remote.write(partial)}`,
  );
  const [sourceHash, copied] = await Promise.all([
    context.shell(spec.from, remote.sha256(spec.sourcePath), {
      timeoutMs: context.timeouts.copyMs,
    }),
    relay(
      { host: context.remote(spec.from), command: remote.read(spec.sourcePath) },
      { host: context.remote(spec.to), command: remote.write(partial) },
      {
        timeoutMs: context.timeouts.copyMs,
        expectedBytes,
        onProgress: (line) => context.output(line),
      },
    ),
  ]);
  const rate =
    copied.durationMs > 0
      ? (copied.bytes / 1024 / 1024 / (copied.durationMs / 1000)).toFixed(1)
      : "∞";
  context.output(
    `Relayed ${copied.bytes} bytes in ${copied.durationMs} ms (${rate} MiB/s), SHA-256 in flight ${copied.sha256}`,
  );
  const targetHash = await context.shell(spec.to, remote.sha256(partial), {
    timeoutMs: context.timeouts.copyMs,
  });
  const targetSize = Number((await context.shell(spec.to, remote.size(partial))).stdout.trim());
  const hashes = {
    source: firstWord(sourceHash.stdout),
    relayed: copied.sha256,
    target: firstWord(targetHash.stdout),
  };
  if (copied.bytes !== expectedBytes || targetSize !== expectedBytes) {
    throw new FailoverError(
      "VERIFY_FAILED",
      `size mismatch: ${spec.from.name} has ${expectedBytes} bytes, ${copied.bytes} were relayed, ${spec.to.name} wrote ${targetSize}`,
    );
  }
  if (hashes.source !== hashes.relayed || hashes.relayed !== hashes.target) {
    throw new FailoverError(
      "VERIFY_FAILED",
      `the copy is corrupt: SHA-256 on ${spec.from.name} ${hashes.source}, in flight ${hashes.relayed}, on ${spec.to.name} ${hashes.target}`,
    );
  }
  context.output(
    `SHA-256 matches on ${spec.from.name}, in flight and on ${spec.to.name}; sizes match (${targetSize} bytes).`,
  );
  if (spec.checkRdb) {
    await context.shell(spec.to, remote.checkRdb(partial), { timeoutMs: context.timeouts.copyMs });
  } else {
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
