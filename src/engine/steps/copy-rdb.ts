import { checkRdbToolOf } from "../../plan/check-rdb.js";
import { asidePath, partialPath, remote, showShell } from "../../plan/commands.js";
import type { HostRef, StepSpec } from "../../plan/types.js";
import { directCopy } from "../direct-copy.js";
import type { StepContext, StepImplementation } from "../step-context.js";
import {
  type SideReport,
  type VerifiedCopyRequest,
  type VerifiedCopyResult,
  verifiedCopy,
} from "../verified-copy.js";
import { answers } from "./redis-state.js";

type Spec = Extract<StepSpec, { kind: "copy-rdb" }>;

/**
 * Copies the snapshot to the spare under a temporary name, proves it identical (size and
 * SHA-256 on both ends and in flight) and loadable (redis-check-rdb or valkey-check-rdb), and only then gives it
 * its real name: one pass over the bytes and one remote command per host (see verified-copy).
 * A failed copy leaves the spare's existing files as they were.
 */
export const copyRdb: StepImplementation<Spec> = {
  async run(spec, context) {
    const partial = partialPath(spec.targetPath, context.runId);
    try {
      await copyVerifyInstall(spec, partial, context);
    } catch (error) {
      await removeQuietly(context, spec.to, partial);
      throw error;
    }
  },
  async alreadyDone(spec, context) {
    const copied = context.facts.copy;
    // Stopped after this command installed and started the copy, before the step was recorded:
    // installing again under a running Redis is refused, and the start step proves its data.
    if (spec.thenStart !== undefined && (await answers(context.redis(spec.to))))
      return `Redis already runs on ${spec.to.name}: this step's command installed the copy and started it; the start step verifies it holds the snapshot`;
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

/** Each command's output under its own header, never interleaved. */
function showSide(context: StepContext, host: string, side: SideReport): void {
  context.output(showShell(host, side.command));
  for (const line of side.output) context.output(`  ${line}`);
}

async function copyVerifyInstall(spec: Spec, partial: string, context: StepContext): Promise<void> {
  const checker = checkRdbToolOf(spec);
  context.output(
    spec.direct
      ? `Streaming ${spec.from.name} → ${spec.to.name} directly (copy: direct, ssh from ${spec.from.name}); its command and the output of each side follow the copy.`
      : `Streaming ${spec.from.name} → bot (SHA-256 in flight) → ${spec.to.name}; each side's command and output follow the copy.`,
  );
  let copied: VerifiedCopyResult;
  try {
    const request: VerifiedCopyRequest = {
      from: { host: context.remote(spec.from), name: spec.from.name, path: spec.sourcePath },
      to: {
        host: context.remote(spec.to),
        name: spec.to.name,
        partial,
        target: spec.targetPath,
        aside: asidePath(spec.targetPath, context.runId),
        checkRdb: checker ?? false,
        ...(spec.thenStart === undefined ? {} : { start: remote.start(spec.thenStart) }),
      },
      ...(spec.thenStart === undefined
        ? {}
        : {
            beforeInstall: async () =>
              (await answers(context.redis(spec.to)))
                ? `Redis already runs on ${spec.to.name} (${spec.to.host}:${spec.to.port}); refusing to install the copy and start another`
                : undefined,
          }),
      timeoutMs: context.timeouts.copyMs,
      onProgress: (line) => context.output(line),
    };
    copied = spec.direct ? await directCopy(request, spec.direct) : await verifiedCopy(request);
  } catch (error) {
    const sides = (error as { copyReport?: { source: SideReport; target: SideReport } }).copyReport;
    if (sides) {
      showSide(context, spec.from.name, sides.source);
      showSide(context, spec.to.name, sides.target);
    }
    throw error;
  }
  showSide(context, spec.from.name, copied.source);
  const started = spec.thenStart === undefined ? undefined : splitStart(copied.target.output);
  showSide(context, spec.to.name, {
    command: copied.target.command,
    output: started ? started.before : copied.target.output,
  });
  if (spec.thenStart !== undefined && started) {
    // The start's output under its own header, as if it had run on its own.
    context.output(
      `[${spec.to.name}] $ ${spec.thenStart}   (run by the command above, only after the install)`,
    );
    for (const line of started.output) context.output(`  ${line}`);
    context.output(`  (exit ${started.code ?? "nothing: cut off"})`);
    context.facts.startedWithCopy = {
      host: spec.to.name,
      code: started.code,
      lastLines: started.output.slice(-5),
    };
  }
  const rate =
    copied.durationMs > 0
      ? (copied.bytes / 1024 / 1024 / (copied.durationMs / 1000)).toFixed(1)
      : "∞";
  context.output(
    `Copied ${copied.bytes} bytes in ${copied.durationMs} ms (${rate} MiB/s), SHA-256 ${copied.sha256}.`,
  );
  context.output(
    `SHA-256 matches on ${spec.from.name}${spec.direct ? "" : ", in flight"} and on ${spec.to.name}; sizes match${checker ? `; ${checker} accepted it` : ""}; installed as ${spec.targetPath}.`,
  );
  if (!checker) {
    context.warn(
      `neither redis-check-rdb nor valkey-check-rdb is installed on ${spec.to.name}; the file's structure was not checked (its hash was).`,
    );
  }
  if (started) {
    context.output(
      `Redis on ${spec.to.name} was started by the same command right after the install (start exited with ${started.code ?? "nothing"}); the next step verifies it.`,
    );
  }
  context.facts.copy = {
    bytes: copied.bytes,
    sha256: copied.sha256,
    durationMs: copied.durationMs,
    targetPath: spec.targetPath,
  };
}

/**
 * The target's output split at the install: its own report, then the start command's output
 * (between "installed" and "start-exit <code>"), then anything after (stderr).
 */
function splitStart(output: string[]): { before: string[]; output: string[]; code: number | null } {
  const from = output.indexOf("installed") + 1;
  const end = output.findIndex((line, i) => i >= from && /^start-exit \d+$/.test(line));
  const code = end === -1 ? null : Number((output[end] as string).slice("start-exit ".length));
  return {
    before: [...output.slice(0, from), ...(end === -1 ? [] : output.slice(end + 1))],
    output: output.slice(from, end === -1 ? undefined : end),
    code,
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
