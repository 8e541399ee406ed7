/**
 * The health/metrics server's limits over real HTTP: a slow or greedy client cannot hold it (and
 * so keep the kubelet's probes out) for longer than a few seconds.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { HealthServer } from "../../src/telemetry/health-server.js";
import { HTTP_LIMITS } from "../../src/telemetry/http-limits.js";
import { WorkerMetrics } from "../../src/telemetry/metrics.js";
import { call, heldConnections, openConnection, slowLoris } from "../helpers/raw-http.js";

describe("health server limits", () => {
  const metrics = new WorkerMetrics({ resource: resourceFromAttributes({ "service.name": "test" }) });
  let server: HealthServer;
  before(async () => {
    server = await HealthServer.listen(0, metrics, "127.0.0.1");
  });
  after(async () => {
    await server.close();
    await metrics.shutdown();
  });

  it("closes a client that trickles its headers within the headers timeout", async () => {
    const { closedAfterMs, received } = await slowLoris(server.port, {
      everyMs: 500,
      giveUpMs: HTTP_LIMITS.headersTimeoutMs + 4_000,
    });
    assert.ok(closedAfterMs >= HTTP_LIMITS.headersTimeoutMs - 500, `closed after ${closedAfterMs} ms`);
    assert.match(received, /^HTTP\/1\.1 408/);
    assert.equal((await call(server.port, { path: "/healthz" })).status, 200, "still answers others");
  });

  it("refuses a connection over the cap, and takes one again once a connection closes", async () => {
    const held = await heldConnections(server.port, "/healthz", HTTP_LIMITS.maxConnections);
    try {
      const extra = await openConnection(server.port);
      extra.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
      await extra.closed;
      assert.equal(extra.received(), "", "the connection over the cap was served");
      held[0]?.socket.destroy();
      await held[0]?.closed;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await call(server.port, { path: "/healthz" })).status, 200);
    } finally {
      for (const c of held) c.socket.destroy();
    }
  });
});
