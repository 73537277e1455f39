import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics.js";
import type { Readiness } from "./readiness.js";

/** The probe and scrape paths. They are a contract: probes and Prometheus configs name them. */
export const OPS_PATHS = { health: "/healthz", ready: "/readyz", metrics: "/metrics" } as const;

export interface OpsRoute {
  path: string;
  method: "GET";
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface Ops {
  readiness: Readiness;
  metrics: Metrics;
}

/** The three routes, shaped as Bolt's `customRoutes` entries. */
export function opsRoutes(ops: Ops): OpsRoute[] {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const failed = (res: ServerResponse, error: unknown) => {
    if (!res.headersSent) json(res, 500, { error: String(error) });
    else res.destroy();
  };
  return [
    {
      path: OPS_PATHS.health,
      method: "GET",
      handler: (_req, res) => json(res, 200, { status: "alive" }),
    },
    {
      path: OPS_PATHS.ready,
      method: "GET",
      handler: (_req, res) => {
        ops.readiness.report().then(
          (report) => json(res, report.ready ? 200 : 503, report),
          (error: unknown) => failed(res, error),
        );
      },
    },
    {
      path: OPS_PATHS.metrics,
      method: "GET",
      handler: (_req, res) => {
        ops.metrics.text().then(
          (text) => {
            res.writeHead(200, { "content-type": ops.metrics.contentType() });
            res.end(text);
          },
          (error: unknown) => failed(res, error),
        );
      },
    },
  ];
}

/**
 * In Socket Mode nothing else listens on PORT: a small server for the same routes. (Bolt's
 * SocketModeReceiver can serve customRoutes too, but it neither waits for `listen` nor reports
 * a port in use, so a bad PORT would surface as an unhandled error instead of a clear one.)
 */
export async function startOpsServer(options: {
  routes: OpsRoute[];
  port: number;
  host?: string;
}): Promise<Server> {
  const byPath = new Map(options.routes.map((route) => [route.path, route]));
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = byPath.get(path);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== route.method && req.method !== "HEAD") {
      res.writeHead(405, { allow: route.method }).end();
      return;
    }
    route.handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
