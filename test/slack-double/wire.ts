import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";

/** Arguments Slack's form encoding carries as JSON strings; decoded so tests see structures. */
const JSON_FIELDS = new Set(["blocks", "attachments", "files", "metadata", "file_ids", "view"]);

export interface ParsedBody {
  args: Record<string, unknown>;
  /** Binary parts of a multipart body (the file upload POST). */
  blobs: Record<string, { bytes: Buffer; filename: string }>;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Token from `Authorization: Bearer`, or from a `token` argument as Slack also accepts. */
export function requestToken(
  req: IncomingMessage,
  args: Record<string, unknown>,
): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim();
  return typeof args.token === "string" ? args.token : undefined;
}

export async function parseBody(
  req: IncomingMessage,
  body: Buffer,
  query: URLSearchParams,
): Promise<ParsedBody> {
  const args: Record<string, unknown> = Object.fromEntries(query);
  const blobs: ParsedBody["blobs"] = {};
  const type = mediaType(req);
  if (type === "application/json") {
    const parsed: unknown = body.length > 0 ? JSON.parse(body.toString("utf8")) : {};
    if (typeof parsed === "object" && parsed !== null) Object.assign(args, parsed);
  } else if (type === "application/x-www-form-urlencoded") {
    for (const [k, v] of Object.entries(parseQuery(body.toString("utf8")))) {
      args[k] = Array.isArray(v) ? v[v.length - 1] : v;
    }
  } else if (type === "multipart/form-data") {
    const form = await new Request("http://double.invalid/", {
      method: "POST",
      headers: { "content-type": req.headers["content-type"] ?? "" },
      body,
    }).formData();
    for (const [k, v] of form) {
      if (typeof v === "string") args[k] = v;
      else blobs[k] = { bytes: Buffer.from(await v.arrayBuffer()), filename: v.name };
    }
  }
  for (const key of JSON_FIELDS) {
    const raw = args[key];
    if (typeof raw !== "string") continue;
    try {
      args[key] = JSON.parse(raw);
    } catch {
      // Left as a string: the method reports it as badly formatted, as Slack does.
    }
  }
  return { args, blobs };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain" : "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
