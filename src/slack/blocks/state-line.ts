import type { RunResult } from "../../engine/events.js";
import { seconds } from "../../format/time-text.js";
import type { RequestView } from "../types.js";
import { escapeMrkdwn, mention, slackDate, utcText } from "./escape.js";
import { shorten } from "./text-fit.js";

/** An error longer than this is shortened in the state line (the full one goes to the file). */
const ERROR_MAX = 600;

export interface StateLine {
  /** For the message: emoji, mentions and Slack dates. */
  mrkdwn: string;
  /** For the attached file and logs. */
  plain: string;
  /** A few words, for the notification text. */
  short: string;
  /** Whether the mrkdwn left part of the error out. */
  cut: boolean;
}

/** What state a failover request is in, who moved it there, and when it stops waiting. */
export function stateLine(view: RequestView): StateLine {
  const by = (user: string | undefined) => (user ? ` by ${mention(user)}` : "");
  const byPlain = (user: string | undefined) => (user ? ` by ${user}` : "");
  const approvedBy = view.approver ? ` Approved by ${mention(view.approver)}.` : "";
  const approvedByPlain = view.approver ? ` Approved by ${view.approver}.` : "";
  const total = view.plan.steps.length;
  switch (view.state) {
    case "awaiting-approval":
      return line(
        `:hourglass: *Awaiting approval* by a second person until ${slackDate(view.expiresAt)}.`,
        `Awaiting approval by a second person until ${utcText(view.expiresAt)}.`,
        "awaiting approval",
      );
    case "dry-run":
      return line(
        ":test_tube: *Dry run* — this is the plan only; nothing will be changed. Run the command again without `--dry-run` to ask for approval.",
        "Dry run: this is the plan only; nothing will be changed.",
        "dry run",
      );
    case "rejected":
      return line(
        `:no_entry: *Rejected*${by(view.decidedBy)}. Nothing was changed.`,
        `Rejected${byPlain(view.decidedBy)}. Nothing was changed.`,
        `rejected${byPlain(view.decidedBy)}`,
      );
    case "expired":
      return line(
        `:alarm_clock: *Expired* — nobody approved before ${slackDate(view.expiresAt)}. Nothing was changed.`,
        `Expired: nobody approved before ${utcText(view.expiresAt)}. Nothing was changed.`,
        "expired",
      );
    case "approved":
      return line(
        `:white_check_mark: *Approved*${by(view.approver)} — starting.`,
        `Approved${byPlain(view.approver)}; starting.`,
        `approved${byPlain(view.approver)}`,
      );
    case "running": {
      const step = view.currentStep;
      const what = step
        ? `step ${step.index} of ${total}: ${escapeMrkdwn(shorten(step.title, 300))}`
        : `${total} steps`;
      const whatPlain = step ? `step ${step.index} of ${total}: ${step.title}` : `${total} steps`;
      return {
        ...line(
          `:arrows_counterclockwise: *Running* ${what}.${approvedBy}`,
          `Running ${whatPlain}.${approvedByPlain}`,
          step ? `running step ${step.index}/${total}` : "running",
        ),
        cut: (step?.title.length ?? 0) > 300,
      };
    }
    case "interrupted": {
      const step = view.currentStep;
      const where = step
        ? ` during step ${step.index} of ${total}: ${escapeMrkdwn(shorten(step.title, 300))}`
        : "";
      const wherePlain = step ? ` during step ${step.index} of ${total}: ${step.title}` : "";
      return line(
        `:warning: *Interrupted*${where} — the bot running it stopped. An approver can resume it from the thread.${approvedBy}`,
        `Interrupted${wherePlain}: the bot running it stopped. An approver can resume it from the thread.${approvedByPlain}`,
        "interrupted",
      );
    }
    case "succeeded": {
      const result = view.result;
      const master = result?.newMaster ?? view.plan.newMaster;
      const time = result ? ` in ${seconds(result.durationMs)}` : "";
      return line(
        `:white_check_mark: *Succeeded*${time} — ${escapeMrkdwn(master.name)} is the new master.${approvedBy}`,
        `Succeeded${time}: ${master.name} is the new master.${approvedByPlain}`,
        `succeeded${time}`,
      );
    }
    case "failed": {
      const failed = failedStep(view.result);
      if (!failed) return line(`:x: *Failed*.${approvedBy}`, `Failed.${approvedByPlain}`, "failed");
      const error = shorten(failed.error, ERROR_MAX);
      return {
        mrkdwn: `:x: *Failed at step ${failed.index}* of ${total}: ${escapeMrkdwn(shorten(failed.title, 300))} — ${escapeMrkdwn(error)}${approvedBy}`,
        plain: `Failed at step ${failed.index} of ${total}: ${failed.title} — ${failed.error}${approvedByPlain}`,
        short: `failed at step ${failed.index}/${total}`,
        cut: error.length < failed.error.length || failed.title.length > 300,
      };
    }
    case "aborted": {
      const done = view.result?.steps.filter((step) => step.status === "ok").length;
      const after = done !== undefined ? ` after ${done} of ${total} steps` : "";
      return line(
        `:octagonal_sign: *Aborted*${by(view.decidedBy)}${after}. The cluster may be half-way: read the summary in the thread.${approvedBy}`,
        `Aborted${byPlain(view.decidedBy)}${after}. The cluster may be half-way.${approvedByPlain}`,
        `aborted${byPlain(view.decidedBy)}`,
      );
    }
    case "dismissed":
      return line(
        `:wastebasket: *Dismissed*${by(view.decidedBy)}: the unfinished run was abandoned and no longer blocks the cluster. Check every server's role before planning again.${approvedBy}`,
        `Dismissed${byPlain(view.decidedBy)}: the unfinished run was abandoned.${approvedByPlain}`,
        `dismissed${byPlain(view.decidedBy)}`,
      );
  }
}

function line(mrkdwn: string, plain: string, short: string): StateLine {
  return { mrkdwn, plain, short, cut: false };
}

export function failedStep(
  result: RunResult | undefined,
): { index: number; title: string; error: string } | undefined {
  if (!result) return undefined;
  if (result.failedStep) return result.failedStep;
  const step = result.steps.find((record) => record.status === "failed");
  return step
    ? { index: step.index, title: step.title, error: step.error ?? "no error given" }
    : undefined;
}
