import type { ModalView } from "@slack/types";
import type { Logger } from "pino";
import type { Inventory } from "../config/inventory.js";
import { errorMessage } from "../errors.js";
import { FORM, FORM_LIMITS, failoverForm } from "./blocks/failover-form.js";
import { errorMessage as errorContent } from "./blocks/help.js";
import { shorten } from "./blocks/text-fit.js";
import {
  type CommandInput,
  type CommandOutcome,
  channelRefusal,
  type Respond,
  type SlashCommands,
} from "./commands.js";
import { type FailoverField, type FailoverValues, failoverCommand } from "./parse-command.js";
import type { MessageContent } from "./types.js";

/** Where the form's answers go: the channel it was opened from, through the command's response_url. */
export interface FormTarget {
  channel: string;
  user: string;
  responseUrl?: string;
}

/** What a view_submission of the form carries (Slack's `view.state.values`, by block and action). */
export interface FormSubmission {
  user: string;
  privateMetadata: string;
  values: Record<string, Record<string, SubmittedValue>>;
}

interface SubmittedValue {
  type: string;
  selected_option?: { value: string } | null;
  selected_options?: Array<{ value: string }>;
}

export type FormOutcome =
  /** Shown under the form's fields (`response_action: "errors"`); the form stays open. */
  | { ok: false; errors: Record<string, string> }
  /** The form closes; `ack` goes to the requester through `respond`, `after` plans the failover. */
  | {
      ok: true;
      ack: MessageContent;
      after: () => Promise<void>;
      /** Called instead of `after` when it is not started. */
      cancel: () => void;
      respond: Respond;
    };

const FIELD_BLOCKS: Record<FailoverField, string> = {
  cluster: FORM.blocks.cluster,
  mode: FORM.blocks.mode,
  spare: FORM.blocks.spare,
  replica: FORM.blocks.replica,
};

/** Errors under a form field are plain text; Slack shows them short. */
const FIELD_ERROR_MAX = 500;

/**
 * `/redis failover` alone opens a form (views.open) offering what the inventory allows from
 * the channel; its submission goes through the same checks as the typed command
 * (failoverCommand, then SlashCommands.failover) and, accepted, is planned and posted in that
 * channel as a typed request is.
 */
export class FailoverModal {
  readonly #inventory: Inventory;
  readonly #commands: SlashCommands;
  readonly #openView: (triggerId: string, view: ModalView) => Promise<void>;
  readonly #reply: (target: FormTarget) => Respond;
  readonly #log: Logger;

  constructor(options: {
    inventory: Inventory;
    commands: SlashCommands;
    /** views.open with the command's trigger_id. */
    openView: (triggerId: string, view: ModalView) => Promise<void>;
    /** Replies to whoever submitted, visible to them only. */
    reply: (target: FormTarget) => Respond;
    log: Logger;
  }) {
    this.#inventory = options.inventory;
    this.#commands = options.commands;
    this.#openView = options.openView;
    this.#reply = options.reply;
    this.#log = options.log.child({ component: "failover-form" });
  }

  /** The slash command's answer: the form opens right after the (empty) acknowledgement. */
  open(input: CommandInput, respond: Respond): CommandOutcome {
    const clusters = [...this.#inventory.clusters.values()].filter(
      (cluster) => channelRefusal(cluster, input.channel) === undefined,
    );
    if (clusters.length === 0)
      return { ack: errorContent(this.#nothingHere(input.channel), false) };
    const { triggerId } = input;
    if (!triggerId) {
      return { ack: errorContent("`failover` needs a cluster name", true) };
    }
    const withUrl = JSON.stringify({ channel: input.channel, responseUrl: input.responseUrl });
    const metadata =
      withUrl.length <= FORM_LIMITS.privateMetadata
        ? withUrl
        : JSON.stringify({ channel: input.channel });
    const view = failoverForm(clusters, metadata);
    return {
      immediate: async () => {
        try {
          await this.#openView(triggerId, view);
          this.#log.info({ user: input.user, channel: input.channel }, "failover form opened");
        } catch (error) {
          this.#log.warn({ err: errorMessage(error) }, "could not open the failover form");
          await respond(
            errorContent(
              `the failover form could not be opened (${errorMessage(error)}). Type the request instead`,
              true,
            ),
          );
        }
      },
    };
  }

  /** A submitted form: refused with errors under its fields, or accepted like a typed request. */
  submit(submission: FormSubmission): FormOutcome {
    const target = readMetadata(submission.privateMetadata);
    if (!target) {
      return fieldError(
        "cluster",
        "This form cannot be used any more. Close it and type /redis failover again.",
      );
    }
    const picked = (block: string, action: string) =>
      submission.values[block]?.[action]?.selected_option?.value;
    const cluster = picked(FORM.blocks.cluster, FORM.actions.cluster);
    const mode = picked(FORM.blocks.mode, FORM.actions.mode);
    const values: FailoverValues = {
      cluster,
      mode: mode === FORM.autoMode ? undefined : mode,
      dryRun:
        submission.values[FORM.blocks.dryRun]?.[FORM.actions.dryRun]?.selected_options?.some(
          (option) => option.value === FORM.dryRunValue,
        ) ?? false,
    };
    for (const field of ["spare", "replica"] as const) {
      const value = picked(FORM.blocks[field], FORM.actions[field]);
      if (value === undefined) continue;
      const slash = value.indexOf("/");
      const of = slash > 0 ? value.slice(0, slash) : undefined;
      const host = value.slice(slash + 1);
      if (of !== undefined && cluster !== undefined && of !== cluster) {
        return fieldError(field, `${host} is a host of ${of}, not of ${cluster}.`);
      }
      values[field] = host;
    }
    const parsed = failoverCommand(values);
    if (!parsed.ok) return fieldError(parsed.field ?? "cluster", parsed.error);
    if (parsed.command.kind !== "failover") return fieldError("cluster", "pick a cluster");
    const respond = this.#reply({ ...target, user: submission.user });
    const outcome = this.#commands.failover(
      parsed.command,
      { user: submission.user, channel: target.channel },
      respond,
    );
    if (!outcome.ok) return fieldError(outcome.field ?? "cluster", outcome.message);
    this.#log.info(
      { user: submission.user, channel: target.channel, cluster },
      "failover requested in the form",
    );
    return { ok: true, ack: outcome.ack, after: outcome.after, cancel: outcome.cancel, respond };
  }

  #nothingHere(channel: string): string {
    if (channel.startsWith("D")) {
      return "failovers cannot be requested in a direct message, where no approver sees them; use the form in a cluster's incident channel";
    }
    const where = [...this.#inventory.clusters.values()]
      .filter((cluster) => cluster.channels.length > 0)
      .map(
        (cluster) =>
          `\`${cluster.name}\` in ${cluster.channels.map((id) => `<#${id}>`).join(", ")}`,
      );
    return `no cluster can be failed over from this channel${where.length > 0 ? `: ${where.join("; ")}` : ": no cluster lists its incident channels under `channels` in the inventory"}`;
  }
}

function readMetadata(text: string): Omit<FormTarget, "user"> | undefined {
  try {
    const parsed = JSON.parse(text) as { channel?: unknown; responseUrl?: unknown };
    if (typeof parsed.channel !== "string" || parsed.channel === "") return undefined;
    return {
      channel: parsed.channel,
      ...(typeof parsed.responseUrl === "string" ? { responseUrl: parsed.responseUrl } : {}),
    };
  } catch {
    return undefined;
  }
}

/** One error under a field, in plain text (the form does not render mrkdwn there). */
function fieldError(field: FailoverField, message: string): FormOutcome {
  const plain = message
    .replace(/<#([A-Z0-9]+)>/g, "#$1")
    .replace(/`/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
  return { ok: false, errors: { [FIELD_BLOCKS[field]]: shorten(plain, FIELD_ERROR_MAX) } };
}
