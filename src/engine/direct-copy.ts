import { errorMessage, FailoverError } from "../errors.js";
import { remote } from "../plan/commands.js";
import type { DirectCopy } from "../plan/types.js";
import {
  copyDeadline,
  detail,
  HASH_LINE,
  Lines,
  lastCheck,
  lines,
  sideFailure,
  type VerifiedCopyRequest,
  type VerifiedCopyResult,
} from "./verified-copy.js";

/**
 * `copy: direct`: one remote command on the source (remote.sendDirect) reads the file once,
 * hashing it, and streams it over OpenSSH to the target's usual receiving command
 * (remote.receiveVerified), whose report comes back through the source's stdout. The bot sees
 * no bytes, so there is no in-flight hash; every other check is the same as the relay's, and
 * the target still installs the copy only on the bot's verdict, which the source forwards.
 */
export async function directCopy(
  request: VerifiedCopyRequest,
  to: DirectCopy,
): Promise<VerifiedCopyResult> {
  const { from } = request;
  const target = request.to;
  const receive = remote.receiveVerified(
    target.partial,
    target.target,
    target.aside,
    target.checkRdb,
    target.start,
  );
  const command = remote.sendDirect(from.path, to, receive);
  const started = performance.now();
  const source = await from.host.spawn(command, { timeoutMs: request.timeoutMs });
  source.stdin.on("error", () => {});
  const err = new Lines(source.stderr);
  const out = new Lines(source.stdout, target.start ? Number.POSITIVE_INFINITY : undefined);
  const report = (): Pick<VerifiedCopyResult, "source" | "target"> => ({
    source: { command, output: lines(err.text) },
    target: { command: receive, output: lines(out.text) },
  });
  const { within, clear } = copyDeadline(request.timeoutMs);
  try {
    const sizeText = await within(err.waitFor("size"));
    const size = Number(sizeText);
    if (sizeText === undefined || !Number.isSafeInteger(size)) {
      throw sideFailure(from.name, command, await source.exit, err.text);
    }
    // The target has written everything once it prints the partial file's size; without that
    // line the target never got the bytes (ssh refused, for instance) and nothing was installed.
    await within(out.waitMatch(/^(?:size|ssh-exit) .*\n/m));
    const targetSize = out.field("size");
    const sourceHash =
      targetSize === undefined ? undefined : await within(err.waitMatch(HASH_LINE));
    if (targetSize === undefined || sourceHash === undefined) {
      source.stdin.end("abort\n");
      const exit = await within(source.exit);
      throw new FailoverError(
        "REMOTE_COMMAND_FAILED",
        `the direct copy from ${from.name} to ${target.name} failed (exit ${exit.code ?? exit.signal}); nothing was installed on ${target.name}${detail(err.text, out.text)}`,
      );
    }
    request.onProgress?.(
      `  copied ${(size / 1024 / 1024).toFixed(1)} MiB ${from.name} → ${target.name} directly`,
    );
    const problem = await within(
      lastCheck(request, {
        size,
        bytes: size,
        sourceHash: sourceHash[1] as string,
        flight: undefined,
        targetHash: HASH_LINE.exec(out.text)?.[1],
        targetSize,
        tee: out.field("tee"),
        check: target.checkRdb ? out.field("check") : "0",
        names: { from: from.name, to: target.name },
        checker: target.checkRdb || "redis-check-rdb",
        checkDetail: lines(err.text).slice(-3).join(" / "),
      }),
    );
    source.stdin.end(problem ? "abort\n" : "install\n");
    const [exit, installed] = await within(Promise.all([source.exit, out.waitFor("installed")]));
    if (problem) throw new FailoverError("VERIFY_FAILED", problem);
    if (exit.code !== 0 || installed === undefined) {
      throw sideFailure(target.name, command, exit, err.text || out.text);
    }
    return {
      bytes: size,
      sha256: sourceHash[1] as string,
      durationMs: Math.round(performance.now() - started),
      ...report(),
    };
  } catch (error) {
    source.kill();
    const failure =
      error instanceof FailoverError
        ? error
        : new FailoverError(
            "REMOTE_COMMAND_FAILED",
            `the direct copy from ${from.name} to ${target.name} broke: ${errorMessage(error)}${detail(err.text, out.text)}`,
            { cause: error },
          );
    throw Object.assign(failure, { copyReport: report() });
  } finally {
    clear();
  }
}
