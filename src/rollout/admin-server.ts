/**
 * The admin endpoints of a live worker, on their own port (`rollout.adminPort`) bound to loopback
 * by default (`rollout.adminHost`): the telemetry port answers every interface for scrapes and
 * probes, while these change the model in use. With `rollout.adminToken` set, every request must
 * carry it (`Authorization: Bearer <token>`; 401 otherwise), which a non-loopback host requires.
 * Before any route, `AdminGuard` refuses what a web page could send (a foreign Host or Origin, a
 * body not sent as JSON); the server has the limits of every server here (`http-limits.ts`).
 * JSON in, JSON out (bodies up to 64 KiB, 413 beyond):
 *
 *   GET    /model           the model in use, the one before it, the last switch (and its error)
 *   POST   /model           {"dir"|"id"|"revision"|"variant"}: switch; 200, or 422 with the reason
 *                           (the old model still serves), 409 while another model loads
 *   POST   /model/rollback  switch back to the model before the last switch
 *   GET    /shadow          the shadow's candidate and its agreement report
 *   PUT    /shadow          {"dir"|..., "samplePercent"}: start or replace the shadow
 *   DELETE /shadow          stop it (its last summary is logged)
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorMessage } from "../errors/error-message.js";
import { SentimentWorkerError } from "../errors/errors.js";
import { createLimitedServer } from "../telemetry/index.js";
import { type AdminAccess, AdminGuard } from "./admin-guard.js";
import { type ModelSpec, parseModelSpec } from "./model-spec.js";
import type { RolloutOutcome, RolloutStatus } from "./rollout.js";

const MAX_BODY_BYTES = 64 * 1024;

/** What the endpoints do: a Rollout's controls, not the Rollout (a test gives a recording fake). */
export interface AdminControls {
  status(): RolloutStatus;
  switchModel(spec: ModelSpec): Promise<RolloutOutcome>;
  rollback(): Promise<RolloutOutcome>;
  startShadow(spec: ModelSpec, samplePercent: number): Promise<RolloutOutcome>;
  stopShadow(): Promise<RolloutStatus>;
}

export interface AdminServerOptions extends AdminAccess {
  port: number;
}

export class AdminServer {
  private constructor(private readonly server: Server) {}

  static async listen(controls: AdminControls, options: AdminServerOptions): Promise<AdminServer> {
    const { port, host } = options;
    const guard = new AdminGuard(options);
    const server = createLimitedServer((request, response) => {
      const refusal = guard.check(request);
      if (refusal) {
        for (const [name, value] of Object.entries(refusal.headers ?? {})) response.setHeader(name, value);
        // The body is not read: close the connection rather than keep it for a next request.
        response.setHeader("connection", "close");
        return json(response, refusal.status, { error: refusal.error });
      }
      route(controls, request, response).catch((error: unknown) => json(response, 500, { error: errorMessage(error) }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new SentimentWorkerError(
            `rollout.adminPort: cannot listen on ${host}:${port} (${error.code ?? error.message}); choose another port, or 0 to disable the admin endpoints`,
            { cause: error },
          ),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    return new AdminServer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function route(rollout: AdminControls, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? "/").split("?")[0];
  const method = request.method ?? "GET";
  const answer = (outcome: RolloutOutcome) =>
    json(response, outcome.ok ? 200 : outcome.busy ? 409 : 422, outcome.ok ? outcome.status : outcome);
  if (path === "/model" && method === "GET") return json(response, 200, rollout.status());
  if (path === "/model" && method === "POST") {
    const spec = await specFrom(request, response);
    if (spec) answer(await rollout.switchModel(spec.spec));
    return;
  }
  if (path === "/model/rollback" && method === "POST") return answer(await rollout.rollback());
  if (path === "/shadow" && method === "GET") {
    return json(response, 200, rollout.status().shadow ?? { running: false });
  }
  if (path === "/shadow" && method === "PUT") {
    const spec = await specFrom(request, response, ["samplePercent"]);
    if (!spec) return;
    const sample = spec.extra.samplePercent ?? 100;
    if (typeof sample !== "number" || !(sample >= 0 && sample <= 100)) {
      return json(response, 400, { error: "samplePercent: a number from 0 to 100" });
    }
    return answer(await rollout.startShadow(spec.spec, sample));
  }
  if (path === "/shadow" && method === "DELETE") return json(response, 200, await rollout.stopShadow());
  json(response, 404, {
    error: `no ${method} ${path}; try GET/POST /model, POST /model/rollback, GET/PUT/DELETE /shadow`,
  });
}

class BodyTooLarge extends Error {}

/** The request's model spec, or undefined after answering 400 (or 413). */
async function specFrom(
  request: IncomingMessage,
  response: ServerResponse,
  extra: readonly string[] = [],
): Promise<{ spec: ModelSpec; extra: Record<string, unknown> } | undefined> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(request));
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      response.setHeader("connection", "close");
      json(response, 413, { error: error.message });
    } else {
      json(response, 400, { error: `the body is not JSON: ${errorMessage(error)}` });
    }
    return undefined;
  }
  try {
    const spec = parseModelSpec(body, extra);
    const fields = body as Record<string, unknown>;
    const rest = Object.fromEntries(extra.filter((k) => Object.hasOwn(fields, k)).map((k) => [k, fields[k]]));
    return { spec, extra: rest };
  } catch (error) {
    json(response, 400, { error: errorMessage(error) });
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const tooLarge = () => new BodyTooLarge(`the body is larger than ${MAX_BODY_BYTES} bytes`);
  if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function json(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body, null, 2)}\n`);
}
