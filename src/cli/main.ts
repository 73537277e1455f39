import { errorMessage } from "../errors.js";
import { runCli } from "./program.js";

/** Process entry: first Ctrl-C aborts before the next step, a second one exits at once. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  // Logged, not fatal: a run in progress finishes its step and stops cleanly instead.
  process.on("unhandledRejection", (reason) => {
    process.stderr.write(
      `${JSON.stringify({ level: 50, time: Date.now(), msg: "unhandledRejection: a promise failed with nobody to catch it", err: errorMessage(reason) })}\n`,
    );
  });
  process.on("SIGINT", () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(
      "\nAborting: the current step finishes, no further step runs (Ctrl-C again to quit now).\n",
    );
    controller.abort();
  });
  const code = await runCli(
    process.argv.slice(2),
    {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: process.env,
      interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    },
    { signal: controller.signal },
  );
  process.exitCode = code;
}
