import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { CallLog, type RecordedCall, type RecordedResponse } from "./call-log.js";
import {
  type ChannelSpec,
  type DoubleConfig,
  resolveConfig,
  type SlackDoubleOptions,
} from "./config.js";
import { type Fault, FaultPlan, faultResponse } from "./faults.js";
import type { SlackLimits } from "./limits.js";
import { type ApiResult, METHODS } from "./methods.js";
import { type ResponseContext, type ResponseUrlPost, ResponseUrls } from "./responses.js";
import {
  type BotIdentity,
  type EphemeralMessage,
  type SlackMessage,
  SlackState,
  type UploadedFile,
} from "./state.js";
import { type OpenedView, wireView } from "./views.js";
import { mediaType, parseBody, readBody, requestToken, sendJson } from "./wire.js";

/** Method name recorded for POSTs of file bytes to an `upload_url`. */
export const UPLOAD = "upload";
/** Method name recorded for POSTs to a `response_url`. */
export const RESPONSE_URL = "response_url";

const ROUTE_METHODS: Record<string, string> = { upload: UPLOAD, response: RESPONSE_URL };

export class SlackDouble {
  /** Base URL for WebClient's `slackApiUrl`; ends with "/api/". */
  readonly apiUrl: string;
  readonly limits: SlackLimits;
  readonly botToken: string;
  private readonly log = new CallLog();
  private readonly faults = new FaultPlan();
  private readonly state: SlackState;
  private readonly responseUrls: ResponseUrls;
  private readonly config: DoubleConfig;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    options: SlackDoubleOptions,
  ) {
    this.config = resolveConfig(options);
    this.apiUrl = `${origin}/api/`;
    this.limits = this.config.limits;
    this.botToken = this.config.botToken;
    this.state = new SlackState(this.config.identity);
    this.responseUrls = new ResponseUrls(this.state, this.config);
    for (const [method, ms] of Object.entries(options.latencyMs ?? {})) {
      this.faults.setLatency(method, ms);
    }
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        sendJson(res, 500, { ok: false, error: "internal_error", detail: String(err) });
      });
    });
  }

  static async start(options: SlackDoubleOptions = {}): Promise<SlackDouble> {
    const server = createServer({ keepAliveTimeout: 1000 });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new SlackDouble(server, `http://127.0.0.1:${port}`, options);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Who the bot is: what auth.test answers and what posted messages carry. */
  get identity(): BotIdentity {
    return { ...this.config.identity };
  }

  // --- recorded traffic -------------------------------------------------------------------

  get calls(): readonly RecordedCall[] {
    return this.log.calls;
  }

  callsTo(method: string): RecordedCall[] {
    return this.log.callsTo(method);
  }

  /**
   * Resolves with the first recorded call to `method` matching `predicate`, including calls
   * already made; rejects after `timeoutMs`.
   */
  waitForCall(
    method: string,
    predicate: (call: RecordedCall) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<RecordedCall> {
    return this.log.waitFor(method, predicate, timeoutMs);
  }

  clearCalls(): void {
    this.log.clear();
  }

  // --- workspace state ----------------------------------------------------------------------

  /** Top-level messages of a channel, oldest first, as they are now. */
  messages(channel: string): SlackMessage[] {
    return structuredClone(this.state.topLevel(channel));
  }

  /** The root message and its replies, oldest first, as they are now. */
  thread(channel: string, ts: string): SlackMessage[] {
    return structuredClone(this.state.thread(channel, ts));
  }

  message(channel: string, ts: string): SlackMessage | undefined {
    const m = this.state.find(channel, ts);
    return m && structuredClone(m);
  }

  get ephemerals(): EphemeralMessage[] {
    return structuredClone(this.state.ephemerals);
  }

  /** Files completed with files.completeUploadExternal, with the bytes that were uploaded. */
  get files(): UploadedFile[] {
    return [...this.state.uploads.values()].filter((f) => f.completed).map((f) => ({ ...f }));
  }

  get responses(): ResponseUrlPost[] {
    return structuredClone(this.responseUrls.posts);
  }

  /** A response_url pointing at the double, as Slack puts in command and action payloads. */
  responseUrl(context: ResponseContext = {}): string {
    return this.responseUrls.issue(this.origin, context);
  }

  setUsergroup(id: string, users: string[]): void {
    this.config.usergroups.set(id, [...users]);
  }

  /**
   * Changes a channel as a person would: `{ is_member: true }` is `/invite @bot`,
   * `{ is_archived: false }` unarchives it. The channel must have been given at start.
   */
  updateChannel(id: string, patch: Partial<Omit<ChannelSpec, "id">>): void {
    const spec = this.config.channels?.get(id);
    if (!spec) throw new Error(`the double has no channel ${id}`);
    Object.assign(spec, patch);
  }

  // --- modals -------------------------------------------------------------------------------

  /**
   * A trigger_id for an interaction payload (slash command, click), registered so that
   * views.open accepts it once; `ageMs` makes one issued that long ago (expired past 3 s).
   */
  triggerId(options: { ageMs?: number } = {}): string {
    return this.state.views.issueTrigger(options.ageMs);
  }

  /** Modals opened with views.open, oldest first. */
  get views(): OpenedView[] {
    return structuredClone(this.state.views.opened);
  }

  /** The view of an opened modal as Slack sends it in a view_submission, with `values`. */
  submittedView(id: string, values: Record<string, unknown>): Record<string, unknown> {
    const opened = this.state.views.find(id);
    if (!opened) throw new Error(`no view ${id} was opened`);
    return wireView(opened, this.config.identity, values);
  }

  // --- fault injection ----------------------------------------------------------------------

  /** The next `count` calls to `method` ("*" for any) get `fault` instead of being served. */
  failNext(method: string, fault: Fault, count = 1): void {
    this.faults.failNext(method, fault, count);
  }

  /** Every call to `method` ("*" for any) gets `fault` until `clearFaults`. */
  failAll(method: string, fault: Fault): void {
    this.faults.failAll(method, fault);
  }

  /**
   * The next `count` calls to `method` have their connection destroyed unanswered; with
   * `afterServing` the call takes effect first and only the response is lost.
   */
  dropNext(method: string, count = 1, afterServing = false): void {
    this.faults.failNext(method, { drop: true, afterServing }, count);
  }

  clearFaults(method?: string): void {
    this.faults.clear(method);
  }

  /** Delay every response to `method` ("*" for any) by `ms`; 0 removes it. */
  setLatency(method: string, ms: number): void {
    this.faults.setLatency(method, ms);
  }

  // --- HTTP ---------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const [, route, name] = url.pathname.split("/");
    const method = route === "api" ? name : ROUTE_METHODS[route ?? ""];
    if (method === undefined || !name) {
      sendJson(res, 404, "not_found");
      return;
    }
    const receivedAt = Date.now();
    const raw = await readBody(req);
    const { args, blobs } = await parseBody(req, raw, url.searchParams);
    const token = requestToken(req, args);

    const latency = this.faults.latency(method);
    if (latency > 0) await sleep(latency);

    const fault = this.faults.take(method);
    const serve = !fault || ("drop" in fault && fault.afterServing === true);
    const served = serve ? this.serve(method, name, args, blobs, raw, token) : undefined;
    const response = fault ? faultResponse(fault, served) : (served as RecordedResponse);
    this.log.record({
      method,
      token,
      args:
        method === UPLOAD ? { file_id: name, bytes: blobs.body?.bytes.length ?? raw.length } : args,
      contentType: mediaType(req),
      receivedAt,
      respondedAt: Date.now(),
      response,
    });
    if (response.dropped) {
      req.socket.destroy();
      return;
    }
    sendJson(res, response.status, response.body, response.headers);
  }

  private serve(
    method: string,
    name: string,
    args: Record<string, unknown>,
    blobs: Record<string, { bytes: Buffer }>,
    raw: Buffer,
    token: string | undefined,
  ): RecordedResponse {
    if (method === UPLOAD) {
      const upload = this.state.uploads.get(name);
      if (!upload) return { status: 404, headers: {}, body: "file_not_found" };
      // web-api sends a multipart form with the bytes in a "body" part; raw bytes also work.
      const bytes = blobs.body?.bytes ?? Object.values(blobs)[0]?.bytes ?? raw;
      upload.bytes = Buffer.from(bytes);
      return { status: 200, headers: {}, body: `OK - ${bytes.length}` };
    }
    if (method === RESPONSE_URL) {
      const { status, body } = this.responseUrls.accept(name, args);
      return { status, headers: {}, body };
    }
    return { status: 200, headers: {}, body: this.callMethod(method, args, token) };
  }

  private callMethod(method: string, args: Record<string, unknown>, token?: string): ApiResult {
    const handler = METHODS[method];
    if (!handler) return { ok: false, error: "unknown_method", req_method: method };
    if (!token) return { ok: false, error: "not_authed" };
    if (token !== this.config.botToken) return { ok: false, error: "invalid_auth" };
    return handler({ args, state: this.state, config: this.config, origin: this.origin });
  }
}

export function startSlackDouble(options: SlackDoubleOptions = {}): Promise<SlackDouble> {
  return SlackDouble.start(options);
}
