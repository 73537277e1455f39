import { describe, expect, it } from "vitest";
import { renderPlanText } from "../../src/plan/render-text.js";
import { escapeCode, escapeMrkdwn, fence } from "../../src/slack/blocks/escape.js";
import {
  errorMessage,
  helpMessage,
  REQUEST_BLOCKS,
  renderSummaryText,
  requestMessage,
  statusMessage,
  stepMessage,
  summaryMessage,
} from "../../src/slack/blocks/index.js";
import {
  ACTIONS,
  type MessageContent,
  type RequestState,
  type RequestView,
} from "../../src/slack/types.js";
import { assessTopology } from "../../src/topology/assess.js";
import { describeNode } from "../../src/topology/describe.js";
import { judgeSentinels } from "../../src/topology/sentinel-view.js";
import { validateBlocks } from "../slack-double/blocks.js";
import { messageButtons, messageText } from "../slack-double/inspect.js";
import { blocksCharCount, SLACK_LIMITS } from "../slack-double/limits.js";
import { down, master, replica, topology } from "../unit/fixtures.js";
import {
  APPROVER,
  a,
  abortedResult,
  b,
  c,
  failedResult,
  hugePlan,
  manyNodes,
  NOW,
  promotePlan,
  REQUESTER,
  RUN_ID,
  replacePlan,
  stepView,
  successResult,
  switchoverPlan,
  view,
} from "./fixtures.js";

const STATES: RequestState[] = [
  "awaiting-approval",
  "dry-run",
  "rejected",
  "expired",
  "approved",
  "running",
  "succeeded",
  "failed",
  "aborted",
];
const CAROL = "U0CAROL";
/** Our own budget: the double refuses above 13,000. */
const BUDGET = 12_000;

/** The message passes the double's validation, stays under the budget and has real fallback text. */
function expectValid(content: MessageContent): void {
  const blocks = content.blocks ?? [];
  expect(validateBlocks(blocks, { ...SLACK_LIMITS })).toBeUndefined();
  expect(blocksCharCount(blocks)).toBeLessThanOrEqual(BUDGET);
  expect(blocks.length).toBeGreaterThan(0);
  expect(content.text.trim().length).toBeGreaterThan(0);
  expect(content.text.length).toBeLessThanOrEqual(SLACK_LIMITS.maxMessageTextChars);
}

/** Every mrkdwn/plain text in the blocks (not the fallback). */
function blockText(content: MessageContent): string {
  return messageText({ blocks: content.blocks ?? [] });
}

/** No ``` inside a code block: each text opens and closes its fences in pairs. */
function expectBalancedFences(content: MessageContent): void {
  for (const block of content.blocks ?? []) {
    const text = messageText({ blocks: [block] });
    expect((text.match(/```/g) ?? []).length % 2, text.slice(0, 200)).toBe(0);
  }
}

function stateFor(state: RequestState, more: Partial<RequestView> = {}) {
  const plan = promotePlan();
  const extra = {
    approved: { approver: APPROVER },
    running: { approver: APPROVER, currentStep: { index: 2, title: plan.steps[1]?.title ?? "" } },
    succeeded: { approver: APPROVER, result: successResult(plan) },
    failed: { approver: APPROVER, result: failedResult(plan, 2) },
    aborted: { approver: APPROVER, decidedBy: CAROL, result: abortedResult(plan, 2) },
    rejected: { decidedBy: CAROL },
  } as const;
  return view(plan, state, { ...((extra as Record<string, object>)[state] ?? {}), ...more });
}

describe("requestMessage", () => {
  for (const state of STATES) {
    for (const [name, make] of [
      ["promote", promotePlan],
      ["switchover", switchoverPlan],
      ["replace", replacePlan],
    ] as const) {
      it(`${state} / ${name}: valid, complete, nothing cut`, () => {
        const base = stateFor(state);
        const plan = make();
        const fitted = requestMessage({ ...base, plan, runId: plan.runId });
        expectValid(fitted.content);
        expectBalancedFences(fitted.content);
        expect(fitted.overflow).toBeUndefined();
        const text = blockText(fitted.content);
        expect(text).toContain(`Redis failover: cache-prod — ${plan.mode.toUpperCase()}`);
        expect(text).toContain(`<@${REQUESTER}>`);
        expect(text).toContain(RUN_ID);
        expect(text).toContain(escapeMrkdwn(plan.modeReason));
        expect(text).toContain(escapeMrkdwn(plan.exposure));
        for (const node of plan.topology.nodes)
          expect(text).toContain(escapeMrkdwn(describeNode(node)));
        for (const candidate of plan.candidates) {
          expect(text).toContain(`${candidate.name}: offset ${candidate.offset}`);
        }
        for (const step of plan.steps) {
          expect(text).toContain(`${step.index}. ${escapeMrkdwn(step.title)}`);
          if (step.commands.length > 0)
            expect(text).toContain(fence(step.commands.map(escapeCode).join("\n")));
        }
        for (const risk of plan.risks) expect(text).toContain(escapeMrkdwn(risk));
      });
    }
  }

  it("shows how far behind each candidate is and when it last heard from the master", () => {
    const text = blockText(requestMessage(view(promotePlan(), "awaiting-approval")).content);
    expect(text).toMatch(
      /machine-b: offset 900 \(0 bytes behind the best\), last heard from master 30 s ago.*new master/,
    );
    expect(text).toContain(
      "machine-c: offset 850 (50 bytes behind the best), last heard from master 31 s ago",
    );
  });

  it("awaiting approval: Approve (primary, confirmed) and Reject (danger), valued with the run id", () => {
    const fitted = requestMessage(view(promotePlan(), "awaiting-approval"));
    const buttons = messageButtons(fitted.content);
    expect(buttons.map((button) => button.text)).toEqual(["Approve", "Reject"]);
    expect(buttons.map((button) => button.action_id)).toEqual([ACTIONS.approve, ACTIONS.reject]);
    expect(buttons.map((button) => button.value)).toEqual([RUN_ID, RUN_ID]);
    expect(buttons.map((button) => button.style)).toEqual(["primary", "danger"]);
    const actions = fitted.content.blocks?.find((block) => block.type === "actions");
    expect(actions?.block_id).toBe(REQUEST_BLOCKS.actions);
    const approve = actions?.type === "actions" ? actions.elements[0] : undefined;
    expect(approve?.type === "button" && approve.confirm).toMatchObject({
      title: { type: "plain_text", text: "Run this failover?" },
      confirm: { type: "plain_text", text: "Approve" },
      deny: { type: "plain_text", text: "Cancel" },
    });
    const confirmText = approve?.type === "button" ? approve.confirm?.text.text : "";
    expect(confirmText).toContain("cache-prod");
    expect(confirmText).toContain("PROMOTE");
    expect(confirmText).toContain("machine-b");
    const reject = actions?.type === "actions" ? actions.elements[1] : undefined;
    expect(reject?.type === "button" && reject.confirm).toBeFalsy();
  });

  it("awaiting approval: mentions the approvers, users as <@U…> and groups as <!subteam^S…>, in the blocks and the notification text", () => {
    const fitted = requestMessage(
      view(promotePlan(), "awaiting-approval", {
        approvers: ["U0APPROVER", "S0ONCALL", "W0GRIDUSER", "<!channel>"],
      }),
    );
    expectValid(fitted.content);
    const blocks = blockText(fitted.content);
    for (const mention of ["<@U0APPROVER>", "<!subteam^S0ONCALL>", "<@W0GRIDUSER>"]) {
      expect(blocks).toContain(mention);
      expect(fitted.content.text).toContain(mention);
    }
    // An id that is neither a user nor a group stays text: it never becomes markup.
    expect(blocks).toContain("&lt;!channel&gt;");
    expect(`${blocks}${fitted.content.text}`).not.toContain("<!channel>");
    expect(fitted.content.blocks?.map((block) => block.block_id)).toContain(
      REQUEST_BLOCKS.approvers,
    );
  });

  it("mentions the approvers only while the request waits for them", () => {
    for (const state of STATES.filter((s) => s !== "awaiting-approval")) {
      const content = requestMessage(
        stateFor(state, { approvers: ["U0APPROVER", "S0ONCALL"] }),
      ).content;
      expect(`${blockText(content)}${content.text}`, state).not.toMatch(/<@U0APPROVER>|subteam/);
    }
  });

  it("keeps within Slack's limits with hundreds of approvers, naming as many as fit and counting the rest", () => {
    const approvers = Array.from({ length: 400 }, (_, i) =>
      i % 2 ? `U0USER${String(i).padStart(5, "0")}` : `S0GROUP${String(i).padStart(5, "0")}`,
    );
    const fitted = requestMessage(view(hugePlan(), "awaiting-approval", { approvers }));
    expectValid(fitted.content);
    const text = blockText(fitted.content);
    expect(text).toContain("<!subteam^S0GROUP00000>");
    expect(text).toMatch(/and \d+ more/);
    expect(messageButtons(fitted.content).map((button) => button.text)).toEqual([
      "Approve",
      "Reject",
    ]);
  });

  it("awaiting approval: says until when, with Slack's date formatting", () => {
    const expiresAt = NOW + 15 * 60_000;
    const text = blockText(
      requestMessage(view(promotePlan(), "awaiting-approval", { expiresAt })).content,
    );
    expect(text).toContain(`<!date^${expiresAt / 1000}^{time}|2023-11-14 22:28 UTC>`);
    expect(text).toMatch(/Awaiting approval/);
  });

  it("running: only Abort (danger) with a confirm that says it stops before the next step", () => {
    const fitted = requestMessage(stateFor("running"));
    const buttons = messageButtons(fitted.content);
    expect(buttons).toEqual([
      {
        block_id: REQUEST_BLOCKS.actions,
        action_id: ACTIONS.abort,
        text: "Abort",
        value: RUN_ID,
        style: "danger",
      },
    ]);
    const actions = fitted.content.blocks?.find((block) => block.type === "actions");
    const abort = actions?.type === "actions" ? actions.elements[0] : undefined;
    expect(abort?.type === "button" ? abort.confirm?.text.text : "").toMatch(
      /before the next step/,
    );
    const text = blockText(fitted.content);
    expect(text).toContain(
      `Running* step 2 of ${promotePlan().steps.length}: Promote machine-b to master`,
    );
  });

  for (const state of STATES.filter((s) => s !== "awaiting-approval" && s !== "running")) {
    it(`${state}: no buttons`, () => {
      const fitted = requestMessage(stateFor(state));
      expect(messageButtons(fitted.content)).toEqual([]);
      expect(fitted.content.blocks?.some((block) => block.type === "actions")).toBe(false);
    });
  }

  it("the state line says who approved, rejected or aborted, and how it ended", () => {
    const line = (state: RequestState) => {
      const blocks = requestMessage(stateFor(state)).content.blocks ?? [];
      return messageText({
        blocks: blocks.filter((block) => block.block_id === REQUEST_BLOCKS.state),
      });
    };
    expect(line("approved")).toContain(`Approved* by <@${APPROVER}>`);
    expect(line("rejected")).toContain(`Rejected* by <@${CAROL}>`);
    expect(line("aborted")).toContain(`Aborted* by <@${CAROL}> after 2 of`);
    expect(line("aborted")).toContain(`Approved by <@${APPROVER}>`);
    expect(line("succeeded")).toContain("Succeeded* in 12.3 s — machine-b is the new master");
    expect(line("succeeded")).toContain(`Approved by <@${APPROVER}>`);
    expect(line("failed")).toContain(
      "Failed at step 2* of 5: Promote machine-b to master — PROMOTE refused: READONLY",
    );
    expect(line("expired")).toMatch(/Expired.*nobody approved before <!date\^/);
    expect(line("dry-run")).toMatch(/Dry run.*nothing will be changed/);
    expect(line("running")).toContain(`Approved by <@${APPROVER}>`);
  });

  it("a failed run with no result (the bot crashed) still renders, with the note", () => {
    const fitted = requestMessage(
      view(promotePlan(), "failed", {
        note: "The bot failed while running: socket <closed> & gone.",
      }),
    );
    expectValid(fitted.content);
    expect(blockText(fitted.content)).toContain("socket &lt;closed&gt; &amp; gone.");
  });

  it("block ids are unique and the same from one state to the next", () => {
    const ids = (state: RequestState) =>
      (requestMessage(stateFor(state)).content.blocks ?? []).map((block) => block.block_id);
    const waiting = ids("awaiting-approval");
    expect(new Set(waiting).size).toBe(waiting.length);
    expect(ids("succeeded")).toEqual(waiting.filter((id) => id !== REQUEST_BLOCKS.actions));
    expect(ids("running")).toEqual(waiting);
  });

  it("fallback text names the cluster, mode, new master, requester and state", () => {
    const { text } = requestMessage(view(promotePlan(), "awaiting-approval")).content;
    expect(text).toContain("cache-prod");
    expect(text).toContain("PROMOTE");
    expect(text).toContain("machine-b");
    expect(text).toContain(`<@${REQUESTER}>`);
    expect(text).toContain("awaiting approval");
  });

  for (const state of STATES) {
    it(`${state} with a huge plan: fits, says so, and attaches the whole plan`, () => {
      const plan = hugePlan();
      const base = stateFor(state);
      const fitted = requestMessage({ ...base, plan, note: `note ${"n".repeat(5000)}` });
      expectValid(fitted.content);
      expectBalancedFences(fitted.content);
      expect(fitted.overflow).toBeDefined();
      expect(fitted.overflow?.text).toContain(renderPlanText(plan));
      expect(fitted.overflow?.text).toContain("n".repeat(5000));
      expect(fitted.overflow?.filename).toMatch(/\.txt$/);
      const text = blockText(fitted.content);
      expect(text).toContain("Shortened to fit Slack");
      expect(text).toContain("Redis failover: cache-prod — PROMOTE");
      expect(text).toMatch(/steps \d+–50 are not shown here/);
      const labels = messageButtons(fitted.content).map((button) => button.text);
      if (state === "awaiting-approval") expect(labels).toEqual(["Approve", "Reject"]);
      else if (state === "running") expect(labels).toEqual(["Abort"]);
      else expect(labels).toEqual([]);
    });
  }

  it("escapes remote text, and ``` inside commands never closes the code block", () => {
    const plan = promotePlan();
    const evil = {
      ...plan,
      modeReason: "<!channel> & <@U0EVIL> <https://evil.example|click>",
      steps: plan.steps.map((step) => ({
        ...step,
        commands: [...step.commands, "echo ```; <script>x</script> && ls"],
      })),
    };
    const fitted = requestMessage(view(evil, "awaiting-approval"));
    expectValid(fitted.content);
    expectBalancedFences(fitted.content);
    const text = blockText(fitted.content);
    expect(text).not.toContain("<!channel>");
    expect(text).not.toContain("<@U0EVIL>");
    expect(text).not.toContain("<script>");
    expect(text).toContain("&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;");
    expect(text).toContain("&lt;script&gt;x&lt;/script&gt; &amp;&amp; ls");
    expect(fitted.content.text).not.toMatch(/<!channel>|<script>/);
  });

  it("a user id that is not one is shown as text, not a mention", () => {
    const fitted = requestMessage(
      view(promotePlan(), "awaiting-approval", { requester: "<!here>" }),
    );
    expect(blockText(fitted.content)).toContain("&lt;!here&gt;");
    expect(fitted.content.text).not.toContain("<!here>");
  });
});

describe("stepMessage", () => {
  const plan = promotePlan();

  it("running, with no output yet", () => {
    const fitted = stepMessage(stepView(plan, 2, { durationMs: 4000 }));
    expectValid(fitted.content);
    expect(fitted.overflow).toBeUndefined();
    const text = blockText(fitted.content);
    expect(text).toContain("*Step 2/5: Promote machine-b to master*");
    expect(text).toContain(":hourglass_flowing_sand: running (4.00 s so far)");
    expect(text).toContain(fence(plan.steps[1]?.commands.map(escapeCode).join("\n") ?? ""));
    expect(text).toContain("No output yet");
  });

  it("ok, with its output and duration", () => {
    const output = "REPLICAOF NO ONE -> OK\nrole: master";
    const fitted = stepMessage(stepView(plan, 2, { status: "ok", durationMs: 1234, output }));
    expectValid(fitted.content);
    expect(fitted.overflow).toBeUndefined();
    const text = blockText(fitted.content);
    expect(text).toContain(":white_check_mark: ok in 1.23 s");
    expect(text).toContain(fence(escapeCode(output)));
    expect(text).not.toContain("earlier lines cut");
    expect(fitted.content.text).toContain("Step 2/5");
  });

  it("failed, with the error (escaped, ``` made harmless) and warnings", () => {
    const error = "boom ``` <script>alert(1)</script> & more";
    const fitted = stepMessage(
      stepView(plan, 3, {
        status: "failed",
        durationMs: 2000,
        error,
        warnings: ["it <was> slow & late"],
      }),
    );
    expectValid(fitted.content);
    expectBalancedFences(fitted.content);
    const text = blockText(fitted.content);
    expect(text).toContain(":x: failed after 2.00 s");
    expect(text).toContain(escapeCode(error));
    expect(text).not.toContain("<script>");
    expect(text).toContain(":warning: it &lt;was&gt; slow &amp; late");
  });

  it("skipped, with the reason", () => {
    const fitted = stepMessage(stepView(plan, 4, { status: "skipped", reason: "already fenced" }));
    expectValid(fitted.content);
    expect(blockText(fitted.content)).toContain(":fast_forward: skipped — already fenced");
  });

  it("2 MB of output: the tail, how many lines were cut, and the whole output attached", () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `line ${i} ${"y".repeat(40)} & <tag>`);
    const output = lines.join("\n");
    expect(output.length).toBeGreaterThan(2_000_000);
    for (const status of ["running", "ok", "failed"] as const) {
      const fitted = stepMessage(
        stepView(plan, 2, {
          status,
          output,
          durationMs: 90_000,
          ...(status === "failed" ? { error: "x".repeat(100_000) } : {}),
        }),
      );
      expectValid(fitted.content);
      expectBalancedFences(fitted.content);
      const text = blockText(fitted.content);
      expect(text).toContain(escapeCode(lines[lines.length - 1] ?? ""));
      expect(text).not.toContain("line 0 ");
      const cut = /… (\d+) earlier lines cut — full output attached/.exec(text);
      expect(cut).not.toBeNull();
      const shown = lines.filter((line) => text.includes(escapeCode(line))).length;
      expect(Number(cut?.[1])).toBe(lines.length - shown);
      expect(fitted.overflow?.text).toContain(output);
      expect(fitted.overflow?.filename).toMatch(/^step-2-of-5.*\.txt$/);
    }
  });

  for (const [name, output] of [
    ["quotes (double in JSON)", '"'.repeat(50_000)],
    ["backslashes", "\\".repeat(50_000)],
    ["control characters", "\u0001\u001b[31mred\u001b[0m\r\n".repeat(5_000)],
    ["ampersands", "&".repeat(50_000)],
    ["backticks", "`".repeat(50_000)],
    ["emoji", "🙂".repeat(20_000)],
    ["one long line", "z".repeat(100_000)],
    ["exactly a section", "q".repeat(2_900)],
  ] as const) {
    it(`output of ${name} fits`, () => {
      const fitted = stepMessage(stepView(plan, 2, { status: "ok", output, durationMs: 1 }));
      expectValid(fitted.content);
      expectBalancedFences(fitted.content);
      const json = JSON.stringify(fitted.content.blocks);
      expect(json).not.toMatch(/\\u00[01]/); // no control characters left
      expect(json).not.toMatch(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i); // no half emoji
    });
  }

  it("sets overflow exactly when something was cut", () => {
    expect(
      stepMessage(stepView(plan, 2, { status: "ok", output: "a\n".repeat(100) })).overflow,
    ).toBeUndefined();
    const fitted = stepMessage(stepView(plan, 2, { status: "ok", output: "a\n".repeat(5000) }));
    expect(fitted.overflow?.text).toContain("a\n".repeat(5000));
  });
});

describe("summaryMessage", () => {
  const plan = promotePlan();
  const input = (result = successResult(plan)) => ({
    plan,
    result,
    requester: REQUESTER,
    approver: APPROVER,
    topologyBefore: plan.topology,
  });

  it("an old master left unfenced: a line says the bot watches it; none otherwise", () => {
    const unfenced = successResult(plan, {
      facts: { unfenced: { name: "machine-a", commands: ["redis-cli REPLICAOF 10.0.0.12 6379"] } },
    });
    const fitted = summaryMessage(input(unfenced));
    expectValid(fitted.content);
    expect(blockText(fitted.content)).toContain(
      "Watching machine-a: the bot probes it every few seconds and says in this thread when it answers again, with a Fence button for approvers.",
    );
    expect(blockText(summaryMessage(input()).content)).not.toContain("Watching");
  });

  it("success: outcome, who, time, exposure, topology before and after, what remains", () => {
    const fitted = summaryMessage(input());
    expectValid(fitted.content);
    expect(fitted.overflow).toBeUndefined();
    const text = blockText(fitted.content);
    expect(text).toContain("Failover succeeded: cache-prod");
    expect(text).toContain("machine-b (10.0.0.12:6379) is the new master");
    expect(text).toContain(`Requested by <@${REQUESTER}> · approved by <@${APPROVER}>`);
    expect(text).toContain("total 12.3 s");
    expect(text).toContain(escapeMrkdwn(plan.exposure));
    for (const node of plan.topology.nodes)
      expect(text).toContain(escapeMrkdwn(describeNode(node)));
    for (const node of successResult(plan).topologyAfter?.nodes ?? [])
      expect(text).toContain(escapeMrkdwn(describeNode(node)));
    expect(text).toContain("What remains to do");
    expect(text).toContain("machine-a must not come back as a master");
    expect(text).toContain("machine-a could not be fenced");
    expect(fitted.content.text).toMatch(/succeeded/);
  });

  it("failure names the step and the error; aborted says so", () => {
    const failed = blockText(
      summaryMessage(input(failedResult(plan, 3, "link <down> & out"))).content,
    );
    expect(failed).toContain("Failover FAILED: cache-prod");
    expect(failed).toContain("Failed at step 3 of 5");
    expect(failed).toContain("link &lt;down&gt; &amp; out");
    const aborted = summaryMessage({ ...input(abortedResult(plan, 2)), abortedBy: CAROL });
    expectValid(aborted.content);
    expect(blockText(aborted.content)).toContain("Aborted after 2 of 5 steps");
    expect(blockText(aborted.content)).toContain(`aborted by <@${CAROL}>`);
  });

  it("no topology after: says it was not observed", () => {
    const { topologyAfter: _, ...result } = successResult(plan);
    const fitted = summaryMessage(input(result));
    expectValid(fitted.content);
    expect(blockText(fitted.content)).toContain("not observed");
  });

  it("200 hosts, a long error with ``` and <script>: fits, and the whole summary is attached", () => {
    const error = `error ${"```<script>".repeat(3000)}`;
    const result = failedResult(plan, 2, error);
    result.topologyAfter = topology(manyNodes(200));
    result.nextActions = Array.from({ length: 40 }, (_, i) => `action ${i} ${"&".repeat(300)}`);
    result.warnings = Array.from({ length: 40 }, (_, i) => `warning ${i} ${"<".repeat(300)}`);
    const big = { ...input(result), topologyBefore: topology(manyNodes(200)) };
    const fitted = summaryMessage(big);
    expectValid(fitted.content);
    expectBalancedFences(fitted.content);
    expect(blockText(fitted.content)).not.toContain("<script>");
    expect(fitted.overflow?.text).toBe(renderSummaryText(big));
    expect(fitted.overflow?.text).toContain(error);
    expect(blockText(fitted.content)).toContain("Shortened to fit Slack");
  });
});

describe("statusMessage", () => {
  it("role, link, offset, lag and last save per server; master state and evidence", () => {
    const topo = {
      ...topology([
        master(a, [{ of: b, offset: 500 }], { lastSaveTime: NOW / 1000 - 300 }),
        replica(b, a, { offset: 480, link: "up" }),
        down(c, "connect ECONNREFUSED <10.0.0.13>"),
      ]),
      observedAt: NOW,
    };
    const content = statusMessage(topo, assessTopology(topo));
    expectValid(content);
    const text = blockText(content);
    expect(text).toContain("Redis status: cache-prod");
    expect(text).toMatch(/Master:\* machine-a .*up/);
    expect(text).toMatch(
      /machine-a\* `10\.0\.0\.11:6379` — master · 1 replica\(s\) · offset 500 · 1000 keys · last save 5 min ago/,
    );
    expect(text).toMatch(
      /machine-b\* .* replica of machine-a, link up · offset 480 \(20 bytes behind\) · lag 0 s · 1000 keys · last save -/,
    );
    expect(text).toContain("not answering — connect ECONNREFUSED &lt;10.0.0.13&gt;");
    expect(text).toContain("Evidence");
    expect(content.text).toContain("cache-prod");
  });

  it("open watches are listed: which host, since when, for which run, answering or not", () => {
    const topo = { ...topology([master(b, [])]), observedAt: NOW };
    const watch = (name: string, answering: boolean) => ({
      runId: `fo-${name}`,
      cluster: "cache-prod",
      host: { name, host: "10.0.0.1", port: 6379 },
      newMaster: { name: "machine-b", host: "10.0.0.12", port: 6379 },
      startedAt: NOW,
      returns: answering ? 1 : 0,
      answering,
    });
    const content = statusMessage(topo, assessTopology(topo), undefined, [
      watch("machine-a", true),
      watch("machine-c", false),
    ]);
    expectValid(content);
    const text = blockText(content);
    expect(text).toContain("Watched old masters");
    expect(text).toContain(
      `machine-a since ${new Date(NOW).toISOString()} (run fo-machine-a): answers again and is NOT fenced`,
    );
    expect(text).toContain("machine-c since");
    expect(text).toMatch(/\(run fo-machine-c\): does not answer yet/);
    expect(content.text).toContain("watching machine-a, machine-c");
    expect(blockText(statusMessage(topo, assessTopology(topo)))).not.toContain("Watched");
  });

  it("problems are listed", () => {
    const topo = topology([master(a), master(b, [], { keys: 5 }), down(c)]);
    const assessment = assessTopology(topo);
    expect(assessment.problems.length).toBeGreaterThan(0);
    const text = blockText(statusMessage(topo, assessment));
    expect(text).toContain("Problems");
    expect(text).toContain("No master identified");
  });

  it("shows the declared Sentinels' view and their disagreements", () => {
    const nodes = [master(a, [{ of: b, offset: 500 }]), replica(b, a, { offset: 500, link: "up" })];
    const topo = {
      ...topology(nodes),
      sentinel: judgeSentinels(
        "mymaster",
        [
          {
            host: "10.0.0.21",
            port: 26379,
            reachable: true,
            monitors: true,
            master: { host: "10.0.0.11", port: 6379, hostName: "machine-a" },
            flags: ["master"],
            quorum: 1,
            ckquorum: "ok",
            replicas: [
              {
                host: "10.0.0.12",
                port: 6379,
                hostName: "machine-b",
                flags: ["slave"],
                priority: 100,
                offset: 500,
                runId: "x",
              },
            ],
          },
          { host: "10.0.0.22", port: 26379, reachable: false, error: "connect ECONNREFUSED" },
        ],
        nodes,
      ),
    };
    const content = statusMessage(topo, assessTopology(topo));
    expectValid(content);
    const text = blockText(content);
    expect(text).toContain("Sentinels");
    expect(text).toMatch(
      /Sentinel 10\.0\.0\.21:26379: master machine-a .*quorum 1 \(ok\), replicas: machine-b/,
    );
    expect(text).toMatch(/:warning: DISAGREE: Sentinel 10\.0\.0\.22:26379 does not answer/);
  });

  it("200 hosts fit", () => {
    const topo = topology([master(a), ...manyNodes(200)]);
    const content = statusMessage(topo, assessTopology(topo));
    expectValid(content);
    expect(blockText(content)).toMatch(/more servers not shown/);
  });
});

describe("helpMessage and errorMessage", () => {
  it("lists every command and flag", () => {
    const content = helpMessage();
    expectValid(content);
    const text = blockText(content);
    for (const piece of [
      "/redis help",
      "/redis status &lt;cluster&gt;",
      "/redis failover &lt;cluster&gt; [--mode replace|promote|switchover] [--spare HOST] [--replica HOST] [--dry-run]",
      "--mode switchover",
      "--mode promote",
      "--mode replace",
      "--spare HOST",
      "--replica HOST",
      "--dry-run",
    ]) {
      expect(text).toContain(piece);
    }
  });

  it("takes commands added later", () => {
    const content = helpMessage([
      { usage: "/redis history <cluster>", summary: "Past failovers." },
    ]);
    expectValid(content);
    expect(blockText(content)).toContain("/redis history &lt;cluster&gt;");
  });

  it("error: escaped, with usage only when asked, and always valid", () => {
    const plain = errorMessage("no cluster <named> & so on", false);
    expectValid(plain);
    expect(blockText(plain)).toContain("no cluster &lt;named&gt; &amp; so on");
    expect(blockText(plain)).not.toContain("Usage");
    const usage = errorMessage("unknown flag --force", true);
    expectValid(usage);
    expect(blockText(usage)).toContain("Usage");
    expect(blockText(usage)).toContain("/redis failover");
    expectValid(errorMessage("", true));
    expectValid(errorMessage("e".repeat(100_000), true));
  });
});

describe("every message at its worst stays within the double's limits", () => {
  it("a tighter budget is honoured too", () => {
    const fitted = requestMessage(view(hugePlan(), "awaiting-approval"), {
      chars: 6000,
      blocks: 20,
    });
    const blocks = fitted.content.blocks ?? [];
    expect(blocksCharCount(blocks)).toBeLessThanOrEqual(6000);
    expect(blocks.length).toBeLessThanOrEqual(20);
    expect(messageButtons(fitted.content).map((button) => button.text)).toEqual([
      "Approve",
      "Reject",
    ]);
    expect(fitted.overflow).toBeDefined();
  });

  it("random plans and outputs of every size always pass", () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ["a", "&", "<", ">", "`", '"', "\\", "\n", "🙂", "\u0007", " ", "*", "_"];
    const noise = (n: number) =>
      Array.from({ length: n }, () => alphabet[random(alphabet.length)]).join("");
    const base = promotePlan();
    for (let round = 0; round < 40; round++) {
      const stepCount = 1 + random(50);
      const plan = {
        ...base,
        modeReason: noise(random(3000)),
        exposure: noise(random(2000)),
        risks: Array.from({ length: random(10) }, () => noise(random(1500))),
        steps: Array.from({ length: stepCount }, (_, i) => ({
          index: i + 1,
          title: noise(1 + random(200)),
          commands: Array.from({ length: random(8) }, () => noise(random(600))),
          ...(random(2) ? { risk: noise(random(700)) } : {}),
          spec: base.steps[0]?.spec ?? { kind: "enable-aof" as const, host: base.newMaster },
        })),
      };
      const state = STATES[random(STATES.length)] ?? "awaiting-approval";
      const request = requestMessage({ ...stateFor(state), plan });
      expectValid(request.content);
      expectBalancedFences(request.content);
      const step = stepMessage({
        ...stepView(plan, 1 + random(stepCount)),
        status: (["running", "ok", "failed", "skipped"] as const)[random(4)] ?? "ok",
        output: noise(random(20_000)),
        ...(random(2) ? { error: noise(random(5000)) } : {}),
        warnings: Array.from({ length: random(5) }, () => noise(random(800))),
      });
      expectValid(step.content);
      expectBalancedFences(step.content);
    }
  });
});

describe("overflow is set exactly when something is cut", () => {
  it("one command over the per-command cap", () => {
    const plan = promotePlan();
    const command = `redis-cli ${"k".repeat(2000)}`;
    const withLong = {
      ...plan,
      steps: plan.steps.map((step, i) => (i === 1 ? { ...step, commands: [command] } : step)),
    };
    const fitted = requestMessage(view(withLong, "awaiting-approval"));
    expectValid(fitted.content);
    expect(fitted.overflow?.text).toContain(command);
    expect(blockText(fitted.content)).toContain("Shortened to fit Slack");
  });

  it("a long note", () => {
    const note = `n${"o".repeat(3000)}te`;
    const fitted = requestMessage(view(promotePlan(), "failed", { note }));
    expectValid(fitted.content);
    expect(fitted.overflow?.text).toContain(note);
  });

  it("a cluster name longer than a header", () => {
    const plan = { ...promotePlan(), cluster: "c".repeat(200) };
    const fitted = requestMessage({ ...view(plan, "awaiting-approval"), cluster: plan.cluster });
    expectValid(fitted.content);
    expect(fitted.overflow).toBeDefined();
  });

  it("not for an ordinary plan, step or summary", () => {
    const plan = promotePlan();
    expect(requestMessage(view(plan, "awaiting-approval")).overflow).toBeUndefined();
    expect(stepMessage(stepView(plan, 1, { status: "ok", output: "ok" })).overflow).toBeUndefined();
    const summary = summaryMessage({
      plan,
      result: successResult(plan),
      requester: REQUESTER,
      topologyBefore: plan.topology,
    });
    expect(summary.overflow).toBeUndefined();
  });
});
