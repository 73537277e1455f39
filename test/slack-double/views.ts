import { validateViewBlocks } from "./blocks.js";
import type { SlackLimits } from "./limits.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A modal the bot opened with views.open, as the double stored it. */
export interface OpenedView {
  /** Slack's view id ("V…"): what a view_submission names. */
  id: string;
  trigger_id: string;
  /** The view as the bot sent it (decoded JSON). */
  view: Json;
  hash: string;
  openedAt: number;
}

interface Trigger {
  issuedAt: number;
  used: boolean;
}

/**
 * trigger_ids and the views opened with them. A trigger comes with an interaction (slash
 * command, click) and opens at most one view, within `triggerTtlMs` of the interaction.
 */
export class Views {
  readonly opened: OpenedView[] = [];
  private readonly triggers = new Map<string, Trigger>();
  private seq = 0;

  /** A trigger_id as Slack puts in an interaction; `ageMs` makes one that is already that old. */
  issueTrigger(ageMs = 0): string {
    this.seq += 1;
    const id = `${Date.now()}.${this.seq}.trigger${String(this.seq).padStart(20, "0")}`;
    this.triggers.set(id, { issuedAt: Date.now() - ageMs, used: false });
    return id;
  }

  /** Slack's answer to views.open: the stored view, or the error Slack gives. */
  open(args: Json, limits: SlackLimits, ids: { team_id: string; app_id: string; bot_id: string }) {
    const triggerId = typeof args.trigger_id === "string" ? args.trigger_id : "";
    if (triggerId === "") return invalid(["missing required field: trigger_id"]);
    const trigger = this.triggers.get(triggerId);
    if (!trigger) return invalid(["invalid `trigger_id`"]);
    if (trigger.used) return { ok: false as const, error: "exchanged_trigger_id" };
    if (Date.now() - trigger.issuedAt > limits.triggerTtlMs) {
      return { ok: false as const, error: "expired_trigger_id" };
    }
    const view = args.view;
    if (typeof view === "string")
      return invalid(["view must be a JSON object [json-pointer:/view]"]);
    if (!isObject(view)) return invalid(["missing required field: view"]);
    if (JSON.stringify(view).length > limits.maxViewBytes) {
      return { ok: false as const, error: "view_too_large" };
    }
    const errors = validateView(view, limits);
    if (errors.length > 0) return invalid(errors);
    trigger.used = true;
    this.seq += 1;
    const opened: OpenedView = {
      id: `V0D${String(this.seq).padStart(8, "0")}`,
      trigger_id: triggerId,
      view: structuredClone(view),
      hash: `${Math.floor(Date.now() / 1000)}.${this.seq}`,
      openedAt: Date.now(),
    };
    this.opened.push(opened);
    return { ok: true as const, view: wireView(opened, ids) };
  }

  find(id: string): OpenedView | undefined {
    return this.opened.find((view) => view.id === id);
  }
}

/** The view as Slack echoes it back (views.open's answer, a view_submission's `view`). */
export function wireView(
  opened: OpenedView,
  ids: { team_id: string; app_id: string; bot_id: string },
  values: Json = {},
): Json {
  const view = opened.view;
  return {
    id: opened.id,
    team_id: ids.team_id,
    type: view.type,
    title: view.title,
    ...(view.submit !== undefined && { submit: view.submit }),
    ...(view.close !== undefined && { close: view.close }),
    blocks: view.blocks,
    private_metadata: typeof view.private_metadata === "string" ? view.private_metadata : "",
    callback_id: typeof view.callback_id === "string" ? view.callback_id : "",
    external_id: "",
    state: { values },
    hash: opened.hash,
    clear_on_close: false,
    notify_on_close: false,
    previous_view_id: null,
    root_view_id: opened.id,
    app_id: ids.app_id,
    app_installed_team_id: ids.team_id,
    bot_id: ids.bot_id,
  };
}

/** Checks a modal the way views.open does; returns the errors (empty when accepted). */
export function validateView(view: Json, limits: SlackLimits): string[] {
  const errors: string[] = [];
  const fail = (pointer: string, reason: string) =>
    errors.push(`${reason} [json-pointer:/view${pointer}]`);
  if (view.type !== "modal") fail("/type", "must be modal");
  const plain = (value: unknown, pointer: string, max: number, required: boolean) => {
    if (value === undefined) {
      if (required) fail(pointer, "missing required field");
      return;
    }
    if (!isObject(value) || value.type !== "plain_text" || typeof value.text !== "string") {
      fail(pointer, "must be a plain_text text object");
      return;
    }
    if (value.text.length === 0) fail(`${pointer}/text`, "must be more than 0 characters");
    if (value.text.length > max) fail(`${pointer}/text`, `must be less than ${max + 1} characters`);
  };
  plain(view.title, "/title", limits.maxViewTitleChars, true);
  const hasInput =
    Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === "input");
  plain(view.submit, "/submit", limits.maxViewButtonChars, hasInput);
  plain(view.close, "/close", limits.maxViewButtonChars, false);
  for (const [key, max] of [
    ["callback_id", limits.maxViewCallbackIdChars],
    ["private_metadata", limits.maxPrivateMetadataChars],
  ] as const) {
    const value = view[key];
    if (value === undefined) continue;
    if (typeof value !== "string") fail(`/${key}`, "must be a string");
    else if (value.length > max) fail(`/${key}`, `must be less than ${max + 1} characters`);
  }
  errors.push(...validateViewBlocks(view.blocks, limits));
  return errors;
}

function invalid(messages: string[]) {
  return {
    ok: false as const,
    error: "invalid_arguments",
    response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) },
  };
}
