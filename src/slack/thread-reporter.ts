import type { Logger } from "pino";
import type { RunEvent, StepStatus } from "../engine/events.js";
import type { PlannedStep } from "../plan/types.js";
import { stepMessage } from "./blocks/step-message.js";
import type { SlackOutbox } from "./outbox.js";
import type { MessageRef, StepView } from "./types.js";

/** How often a running step's live output is re-rendered; the outbox further coalesces and throttles. */
const LIVE_UPDATE_MS = 700;
/** Output kept per step for the attached file; beyond this only the tail is kept. */
const MAX_KEPT_OUTPUT = 8 * 1024 * 1024;

interface LiveStep {
  view: StepView;
  ref: MessageRef;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Turns a run's events into thread replies: one per step, updated live while it runs, then
 * its result and duration. Output too long for Slack is cut in the message and attached whole.
 * Everything goes through the outbox, so Slack trouble never reaches the run.
 */
export class ThreadReporter {
  readonly #outbox: SlackOutbox;
  readonly #channel: string;
  readonly #root: MessageRef;
  readonly #log: Logger;
  readonly #steps = new Map<number, LiveStep>();
  readonly #total: number;

  constructor(options: {
    outbox: SlackOutbox;
    channel: string;
    root: MessageRef;
    log: Logger;
    totalSteps: number;
  }) {
    this.#outbox = options.outbox;
    this.#channel = options.channel;
    this.#root = options.root;
    this.#log = options.log;
    this.#total = options.totalSteps;
  }

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case "step-started":
        this.#started(event.step);
        break;
      case "step-output":
        this.#output(event.index, event.text);
        break;
      case "step-finished":
        this.#finished(event.index, event.status, event);
        break;
      default:
        break;
    }
  }

  #started(step: PlannedStep): void {
    const view: StepView = {
      step,
      total: this.#total,
      status: "running",
      output: "",
      warnings: [],
    };
    const ref = this.#outbox.post(this.#channel, stepMessage(view).content, {
      threadTs: this.#root,
    });
    this.#steps.set(step.index, { view, ref, timer: undefined });
  }

  #output(index: number, text: string): void {
    const live = this.#steps.get(index);
    if (!live) return;
    const output = live.view.output ? `${live.view.output}\n${text}` : text;
    live.view.output = output.length > MAX_KEPT_OUTPUT ? output.slice(-MAX_KEPT_OUTPUT) : output;
    live.timer ??= setTimeout(() => {
      live.timer = undefined;
      this.#outbox.update(live.ref, stepMessage(live.view).content);
    }, LIVE_UPDATE_MS);
  }

  #finished(
    index: number,
    status: StepStatus,
    record: { durationMs: number; error?: string; reason?: string; warnings: string[] },
  ): void {
    // Steps skipped after a failure never started; the summary lists them instead of a reply each.
    const live = this.#steps.get(index);
    if (!live) return;
    clearTimeout(live.timer);
    live.timer = undefined;
    Object.assign(live.view, { status, durationMs: record.durationMs, warnings: record.warnings });
    if (record.error) live.view.error = record.error;
    if (record.reason) live.view.reason = record.reason;
    const fitted = stepMessage(live.view);
    this.#outbox.update(live.ref, fitted.content);
    if (fitted.overflow) {
      this.#log.info(
        { step: index, bytes: fitted.overflow.text.length },
        "step output attached as a file",
      );
      this.#outbox.upload(this.#channel, this.#root, {
        ...fitted.overflow,
        content: fitted.overflow.text,
      });
    }
    this.#steps.delete(index);
  }
}
