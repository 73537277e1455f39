import type { AddressInfo } from "node:net";
import { App, webApi } from "@slack/bolt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  postSigned,
  readViewReply,
  type SlackDouble,
  startSlackDouble,
  submitView,
  viewSubmissionBody,
} from "./index.js";
import { recordingLogger } from "./recording-logger.js";

const { WebClient } = webApi;
const SECRET = "d0ub1e-signing-secret-views-0123456789";
const ALICE = { id: "U0ALICE", username: "alice" };

let double: SlackDouble;

beforeEach(async () => {
  double = await startSlackDouble({
    channels: [
      { id: "C0PUBLIC", name: "public" },
      { id: "C0OUTSIDE", name: "outside", is_member: false },
      { id: "C0SECRET", name: "secret", is_private: true, is_member: false },
      { id: "C0OLD", name: "old", is_archived: true },
    ],
  });
});
afterEach(async () => {
  await double.close();
});

function client() {
  return new WebClient(double.botToken, {
    slackApiUrl: double.apiUrl,
    retryConfig: { retries: 0 },
    logger: recordingLogger(),
  });
}

/** The platform error code a call failed with. */
async function slackError(call: Promise<unknown>): Promise<{ error: string; messages: string[] }> {
  try {
    await call;
  } catch (error) {
    const data = (
      error as { data?: { error?: string; response_metadata?: { messages?: string[] } } }
    ).data;
    return {
      error: data?.error ?? String(error),
      messages: data?.response_metadata?.messages ?? [],
    };
  }
  throw new Error("expected the call to fail");
}

const plain = (text: string) => ({ type: "plain_text" as const, text });
const option = (value: string) => ({ text: plain(value), value });

/** A small valid form: a required select and an optional checkbox. */
function form(overrides: Record<string, unknown> = {}) {
  return {
    type: "modal" as const,
    callback_id: "pick",
    title: plain("Pick one"),
    submit: plain("Go"),
    private_metadata: JSON.stringify({ channel: "C0PUBLIC" }),
    blocks: [
      {
        type: "input",
        block_id: "colour",
        label: plain("Colour"),
        element: {
          type: "static_select",
          action_id: "colour",
          options: [option("red"), option("blue")],
        },
      },
      {
        type: "input",
        block_id: "careful",
        optional: true,
        label: plain("Careful"),
        element: { type: "checkboxes", action_id: "careful", options: [option("yes")] },
      },
    ],
    ...overrides,
  };
}

/** A form of one input block "a" holding a static_select with the given fields. */
function selectForm(select: Record<string, unknown>, label = plain("A")) {
  return form({
    blocks: [
      {
        type: "input",
        block_id: "a",
        label,
        element: { type: "static_select", action_id: "a", ...select },
      },
    ],
  });
}

describe("views.open", () => {
  it("opens a valid modal once per trigger_id and records it", async () => {
    const trigger = double.triggerId();
    const opened = await client().views.open({ trigger_id: trigger, view: form() as never });
    expect(opened.ok).toBe(true);
    expect(opened.view?.id).toMatch(/^V/);
    expect(double.views).toHaveLength(1);
    expect(double.views[0]?.view.callback_id).toBe("pick");
    const again = await slackError(
      client().views.open({ trigger_id: trigger, view: form() as never }),
    );
    expect(again.error).toBe("exchanged_trigger_id");
  });

  it("refuses a missing, unknown or expired trigger_id", async () => {
    const view = form() as never;
    expect((await slackError(client().views.open({ trigger_id: "", view }))).error).toBe(
      "invalid_arguments",
    );
    const unknown = await slackError(client().views.open({ trigger_id: "123.456.abc", view }));
    expect(unknown).toEqual({
      error: "invalid_arguments",
      messages: ["[ERROR] invalid `trigger_id`"],
    });
    const stale = double.triggerId({ ageMs: 3_500 });
    expect((await slackError(client().views.open({ trigger_id: stale, view }))).error).toBe(
      "expired_trigger_id",
    );
    expect(double.views).toEqual([]);
  });

  it.each([
    ["a title over 24 characters", form({ title: plain("x".repeat(25)) }), "/view/title/text"],
    [
      "a submit text over 24 characters",
      form({ submit: plain("y".repeat(25)) }),
      "/view/submit/text",
    ],
    ["no submit with inputs", form({ submit: undefined }), "/view/submit"],
    [
      "more than 100 blocks",
      form({
        blocks: Array.from({ length: 101 }, (_, i) => ({
          type: "section",
          block_id: `b${i}`,
          text: plain("x"),
        })),
      }),
      "/view/blocks]",
    ],
    [
      "a label over 2000 characters",
      selectForm({ options: [option("x")] }, plain("l".repeat(2001))),
      "/view/blocks/0/label/text",
    ],
    [
      "a static_select with 101 options",
      selectForm({ options: Array.from({ length: 101 }, (_, i) => option(`o${i}`)) }),
      "/view/blocks/0/element/options",
    ],
    [
      "an option text over 75 characters",
      selectForm({ options: [{ text: plain("t".repeat(76)), value: "v" }] }),
      "/view/blocks/0/element/options/0/text/text",
    ],
    [
      "an initial_option that is not an option",
      selectForm({ options: [option("x")], initial_option: option("y") }),
      "/view/blocks/0/element/initial_option",
    ],
    [
      "private_metadata over 3000 characters",
      form({ private_metadata: "m".repeat(3001) }),
      "/view/private_metadata",
    ],
  ])("refuses %s with invalid_arguments naming the field", async (_what, view, pointer) => {
    const refused = await slackError(
      client().views.open({ trigger_id: double.triggerId(), view: view as never }),
    );
    expect(refused.error).toBe("invalid_arguments");
    expect(refused.messages.join("\n")).toContain(`[json-pointer:${pointer}`);
    expect(double.views).toEqual([]);
  });

  it("refuses input blocks in a message: they exist only in modals", async () => {
    const refused = await slackError(
      client().chat.postMessage({ channel: "C0PUBLIC", text: "x", blocks: form().blocks as never }),
    );
    expect(refused.error).toBe("invalid_blocks");
  });
});

describe("channels the bot cannot post in", () => {
  it("answers not_in_channel, channel_not_found (private) and is_archived, as Slack does", async () => {
    const post = (channel: string) =>
      slackError(client().chat.postMessage({ channel, text: "hi" }));
    expect((await post("C0OUTSIDE")).error).toBe("not_in_channel");
    expect((await post("C0SECRET")).error).toBe("channel_not_found");
    expect((await post("C0OLD")).error).toBe("is_archived");
    expect(double.messages("C0OUTSIDE")).toEqual([]);
  });

  it("posts once the bot is invited", async () => {
    double.updateChannel("C0OUTSIDE", { is_member: true });
    const posted = await client().chat.postMessage({ channel: "C0OUTSIDE", text: "hi" });
    expect(posted.ok).toBe(true);
    expect(double.messages("C0OUTSIDE").map((message) => message.text)).toEqual(["hi"]);
  });
});

describe("view_submission through Bolt's receiver", () => {
  let app: App;
  let url: string;
  const submitted: Array<{ user: string; values: unknown; metadata: string }> = [];

  beforeEach(async () => {
    submitted.length = 0;
    app = new App({
      token: double.botToken,
      signingSecret: SECRET,
      logger: recordingLogger(),
      clientOptions: { slackApiUrl: double.apiUrl, retryConfig: { retries: 0 } },
    });
    app.view("pick", async ({ ack, body, view }) => {
      submitted.push({
        user: body.user.id,
        values: view.state.values,
        metadata: view.private_metadata,
      });
      const colour = view.state.values.colour?.colour?.selected_option?.value;
      if (colour === "red") await ack({ response_action: "errors", errors: { colour: "Not red" } });
      else await ack();
    });
    const server = (await app.start(0)) as unknown as { address(): AddressInfo };
    url = `http://127.0.0.1:${server.address().port}/slack/events`;
  });
  afterEach(async () => {
    await app.stop();
  });

  async function openForm(): Promise<string> {
    const opened = await client().views.open({
      trigger_id: double.triggerId(),
      view: form() as never,
    });
    return String(opened.view?.id);
  }

  it("delivers the picked values and the private_metadata; an empty ack closes the form", async () => {
    const viewId = await openForm();
    const reply = await postSigned(
      url,
      SECRET,
      viewSubmissionBody(
        submitView(double, { viewId, user: ALICE, values: { colour: "blue", careful: ["yes"] } }),
      ),
    );
    expect(readViewReply(double, viewId, reply)).toEqual({ action: "clear" });
    expect(submitted).toEqual([
      {
        user: ALICE.id,
        metadata: JSON.stringify({ channel: "C0PUBLIC" }),
        values: {
          colour: { colour: { type: "static_select", selected_option: option("blue") } },
          careful: { careful: { type: "checkboxes", selected_options: [option("yes")] } },
        },
      },
    ]);
  });

  it("shows response_action errors under the named input block", async () => {
    const viewId = await openForm();
    const reply = await postSigned(
      url,
      SECRET,
      viewSubmissionBody(submitView(double, { viewId, user: ALICE, values: { colour: "red" } })),
    );
    expect(readViewReply(double, viewId, reply)).toEqual({
      action: "errors",
      errors: { colour: "Not red" },
    });
  });

  it("will not submit what a person could not: a value that is no option, an empty required field", async () => {
    const viewId = await openForm();
    expect(() => submitView(double, { viewId, user: ALICE, values: { colour: "green" } })).toThrow(
      /not an option/,
    );
    expect(() => submitView(double, { viewId, user: ALICE, values: {} })).toThrow(/required/);
    expect(() =>
      submitView(double, { viewId, user: ALICE, values: { colour: "red", nope: "x" } }),
    ).toThrow(/no input block nope/);
    expect(submitted).toEqual([]);
  });
});
