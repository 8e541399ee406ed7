/**
 * The limits every HTTP server of the worker runs with (the health/metrics server and the admin
 * endpoints): their clients are probes, scrapers and an operator's curl, which send a small request
 * at once, so a client that trickles its headers (slow loris) or holds many sockets is cut off in
 * seconds rather than after Node's defaults (60 s for headers, 300 s for a request, no cap).
 */
import { createServer, type RequestListener, type Server } from "node:http";

export interface HttpLimits {
  /** Time to receive a request's headers; 408 and closed after it. */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request, body included (not the answer: a model switch may take longer). */
  readonly requestTimeoutMs: number;
  /** How long an idle kept-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections at most; one more is closed at once, before it is read. */
  readonly maxConnections: number;
}

export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 32,
};

/**
 * How often Node looks for requests past their timeouts (its default, 30 s, would let a slow
 * client stay that long whatever the timeouts say).
 */
const TIMEOUT_CHECK_MS = 1_000;

export function createLimitedServer(listener: RequestListener, limits: HttpLimits = HTTP_LIMITS): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    listener,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}
