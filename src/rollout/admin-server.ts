/**
 * The admin endpoints of a live worker, on their own port (`rollout.adminPort`) bound to loopback
 * by default (`rollout.adminHost`): the telemetry port answers every interface for scrapes and
 * probes, while these change the model in use. With `rollout.adminToken` set, every request must
 * carry it (`Authorization: Bearer <token>`; 401 otherwise), which a non-loopback host requires.
 * JSON in, JSON out:
 *
 *   GET    /model           the model in use, the one before it, the last switch (and its error)
 *   POST   /model           {"dir"|"id"|"revision"|"variant"}: switch; 200, or 422 with the reason
 *                           (the old model still serves), 409 while another model loads
 *   POST   /model/rollback  switch back to the model before the last switch
 *   GET    /shadow          the shadow's candidate and its agreement report
 *   PUT    /shadow          {"dir"|..., "samplePercent"}: start or replace the shadow
 *   DELETE /shadow          stop it (its last summary is logged)
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SentimentWorkerError } from "../errors/errors.js";
import type { SentimentClassifier } from "../inference/classifier.js";
import { parseModelSpec } from "./model-spec.js";
import type { Rollout, RolloutOutcome } from "./rollout.js";

const MAX_BODY_BYTES = 64 * 1024;

export class AdminServer {
  private constructor(private readonly server: Server) {}

  static async listen<T extends { classifier: SentimentClassifier }>(
    rollout: Rollout<T>,
    port: number,
    host: string,
    token?: string,
  ): Promise<AdminServer> {
    const expected = token === undefined ? undefined : digest(token);
    const server = createServer((request, response) => {
      if (expected && !authorized(request, expected)) {
        response.setHeader("www-authenticate", 'Bearer realm="sentiment-worker admin"');
        return json(response, 401, { error: "this admin endpoint needs Authorization: Bearer <rollout.adminToken>" });
      }
      route(rollout, request, response).catch((error: unknown) =>
        json(response, 500, { error: error instanceof Error ? error.message : String(error) }),
      );
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

/** Digests compared, not the strings: equal lengths for timingSafeEqual, and no early exit on a prefix. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

function authorized(request: IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
  return match !== null && timingSafeEqual(digest(match[1] as string), expected);
}

async function route<T extends { classifier: SentimentClassifier }>(
  rollout: Rollout<T>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
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

/** The request's model spec, or undefined after answering 400. */
async function specFrom(
  request: IncomingMessage,
  response: ServerResponse,
  extra: readonly string[] = [],
): Promise<{ spec: ReturnType<typeof parseModelSpec>; extra: Record<string, unknown> } | undefined> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(request));
  } catch (error) {
    json(response, 400, { error: `the body is not JSON: ${error instanceof Error ? error.message : String(error)}` });
    return undefined;
  }
  try {
    const spec = parseModelSpec(body, extra);
    const rest = Object.fromEntries(
      extra.map((k) => [k, (body as Record<string, unknown>)[k]]).filter(([, v]) => v !== undefined),
    );
    return { spec, extra: rest };
  } catch (error) {
    json(response, 400, { error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`more than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function json(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body, null, 2)}\n`);
}
