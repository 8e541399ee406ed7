/**
 * The small HTTP server of an operated worker: `/healthz` (the process answers), `/readyz` (model
 * loaded, consumer in its group, Redis reachable or bypassed; 503 with the failing checks
 * otherwise) and `/metrics` (Prometheus). It starts before the model loads, so probes and
 * scrapes work during a long start-up. It has the limits of every server here (`http-limits.ts`),
 * so a slow or greedy client cannot hold it, and keep the probes out, for long.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SentimentWorkerError } from "../errors/errors.js";
import { createLimitedServer } from "./http-limits.js";
import type { WorkerMetrics } from "./metrics.js";

/** Named readiness checks; all must be true. */
export type ReadinessChecks = () => Record<string, boolean>;

export class HealthServer {
  private checks: ReadinessChecks = () => ({ started: false });

  private constructor(private readonly server: Server) {}

  /** Listens on `port` (0 picks a free one, for tests) on every interface. */
  static async listen(port: number, metrics: WorkerMetrics, host?: string): Promise<HealthServer> {
    let self: HealthServer | undefined;
    const server = createLimitedServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405).end();
      } else if (path === "/healthz") {
        json(response, 200, { status: "ok" });
      } else if (path === "/readyz") {
        const checks = self?.checks() ?? {};
        const ready = Object.keys(checks).length > 0 && Object.values(checks).every(Boolean);
        json(response, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks });
      } else if (path === "/metrics") {
        metrics.serve(request, response);
      } else {
        json(response, 404, { error: `no ${path}; try /healthz, /readyz or /metrics` });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new SentimentWorkerError(
            `telemetry.httpPort: cannot listen on port ${port} (${error.code ?? error.message}); choose another port or 0 to disable the server`,
            { cause: error },
          ),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    self = new HealthServer(server);
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  setReadiness(checks: ReadinessChecks): void {
    this.checks = checks;
  }

  isReady(): boolean {
    const checks = this.checks();
    return Object.values(checks).every(Boolean);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function json(response: import("node:http").ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
}
