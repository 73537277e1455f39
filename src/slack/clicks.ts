import type { Logger } from "pino";
import { errorMessage } from "../errors.js";
import type { RunLifecycle } from "../runs/lifecycle.js";
import type { Reply } from "../runs/types.js";
import { resumeRefusedMessage } from "./blocks/resume-offer.js";
import type { SlackOutbox } from "./outbox.js";
import type { RunMessages } from "./run-messages.js";

export type ClickHandler = (runId: string, user: string, channel: string) => Promise<void>;

/**
 * The buttons (Approve, Reject, Abort, Resume, Dismiss): each click goes to the lifecycle,
 * and its answer goes back to whoever clicked, visible to them only.
 */
export function clickHandlers(options: {
  lifecycle: RunLifecycle;
  messages: RunMessages;
  outbox: SlackOutbox;
  log: Logger;
}): Record<"approve" | "reject" | "abort" | "resume" | "dismiss", ClickHandler> {
  const { lifecycle, outbox } = options;
  const log = options.log.child({ component: "slack-clicks" });
  /** What the last refused Resume found, per run: the reason a Dismiss records. */
  const lastChanged = new Map<string, string[]>();
  const answer =
    (what: string, act: (runId: string, user: string) => Promise<Reply>): ClickHandler =>
    async (runId, user, channel) => {
      let reply: Reply;
      try {
        reply = await act(runId, user);
      } catch (error) {
        log.error({ runId, user, err: errorMessage(error) }, `${what} failed`);
        reply = {
          ok: false,
          message: `:x: Nothing was done: ${errorMessage(error)}. Try again in a moment.`,
        };
      }
      if (reply.message) await outbox.postEphemeral(channel, user, { text: reply.message });
      if (!reply.ok && reply.changed) {
        lastChanged.set(runId, reply.changed);
        const run = await lifecycle.journal.run(runId).catch(() => undefined);
        if (run)
          options.messages.reply(
            run,
            resumeRefusedMessage({ runId, cluster: run.cluster, by: user, changed: reply.changed }),
          );
      }
    };
  return {
    approve: answer("approve", (runId, user) => lifecycle.approve(runId, user)),
    reject: answer("reject", (runId, user) => lifecycle.reject(runId, user)),
    abort: answer("abort", (runId, user) => lifecycle.abort(runId, user)),
    resume: answer("resume", (runId, user) => lifecycle.resume(runId, user)),
    dismiss: answer("dismiss", async (runId, user) => {
      const changed = lastChanged.get(runId);
      const reply = await lifecycle.dismiss(
        runId,
        user,
        changed
          ? `Resume found the servers changed: ${changed.join("; ")}`
          : "abandoned in Slack instead of being resumed",
      );
      if (reply.ok) lastChanged.delete(runId);
      return reply;
    }),
  };
}
