import type { Logger } from "pino";
import { errorMessage } from "../errors.js";
import type { RunLifecycle } from "../runs/lifecycle.js";
import type { Reply } from "../runs/types.js";
import type { SlackOutbox } from "./outbox.js";
import type { WatchMessages } from "./watch-messages.js";

/** A press of a watch's Fence button: `runId` is the watched run, `messageTs` the pressed message. */
export type FenceClick = (
  runId: string,
  user: string,
  channel: string,
  messageTs: string | undefined,
) => Promise<void>;

/**
 * Fence goes to the lifecycle (approver check, the CLI's fence plan, the cluster lock); a
 * refusal goes back to whoever pressed, visible to them only; the run itself shows in the thread.
 */
export function fenceClickHandler(options: {
  lifecycle: RunLifecycle;
  watchMessages: WatchMessages;
  outbox: SlackOutbox;
  log: Logger;
}): FenceClick {
  const log = options.log.child({ component: "slack-clicks" });
  return async (runId, user, channel, messageTs) => {
    let reply: Reply;
    try {
      reply = await options.lifecycle.fenceWatched(runId, user, (watched) =>
        options.watchMessages.fenceThread(watched, {
          channel,
          ...(messageTs ? { ts: messageTs } : {}),
        }),
      );
    } catch (error) {
      log.error({ runId, user, err: errorMessage(error) }, "fence failed");
      reply = {
        ok: false,
        message: `:x: Nothing was done: ${errorMessage(error)}. Try again in a moment.`,
      };
    }
    if (reply.message) await options.outbox.postEphemeral(channel, user, { text: reply.message });
  };
}
