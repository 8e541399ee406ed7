/**
 * The admin endpoints over real HTTP, against the real server, with a recording fake for the
 * rollout's controls: what a web page (cross-site, DNS rebinding) or a hostile body can send is
 * refused before anything switches; curl's requests still work.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type AdminControls, AdminServer } from "../../src/rollout/admin-server.js";
import type { ModelSpec } from "../../src/rollout/model-spec.js";
import type { RolloutOutcome, RolloutStatus } from "../../src/rollout/rollout.js";
import { call, heldConnections, openConnection, slowLoris } from "../helpers/raw-http.js";

const TOKEN = "tok-0123456789abcdef";

/** The rollout's controls, recording what they were asked to do. */
class RecordingControls implements AdminControls {
  readonly calls: { action: string; spec?: ModelSpec; samplePercent?: number }[] = [];
  private readonly serving = { name: "fixture", revision: "r1", spec: {} };

  status(): RolloutStatus {
    return { model: this.serving, busy: false, retiringBatches: 0 };
  }
  private ok(): RolloutOutcome {
    return { ok: true, status: this.status() };
  }
  async switchModel(spec: ModelSpec): Promise<RolloutOutcome> {
    this.calls.push({ action: "switch", spec: { ...spec } });
    return this.ok();
  }
  async rollback(): Promise<RolloutOutcome> {
    this.calls.push({ action: "rollback" });
    return this.ok();
  }
  async startShadow(spec: ModelSpec, samplePercent: number): Promise<RolloutOutcome> {
    this.calls.push({ action: "shadow", spec: { ...spec }, samplePercent });
    return this.ok();
  }
  async stopShadow(): Promise<RolloutStatus> {
    this.calls.push({ action: "stop-shadow" });
    return this.status();
  }
}

const JSON_TYPE = { "content-type": "application/json" };
const INT8 = JSON.stringify({ variant: "int8" });

describe("admin endpoints, loopback without a token", () => {
  const controls = new RecordingControls();
  let server: AdminServer;
  let port: number;
  before(async () => {
    server = await AdminServer.listen(controls, { port: 0, host: "127.0.0.1" });
    port = server.port;
  });
  after(() => server.close());

  const switchWith = (headers: Record<string, string>, body = INT8) =>
    call(port, { method: "POST", path: "/model", headers, body });

  it("switches on curl's request: application/json (with or without charset), a loopback Host, no Origin", async () => {
    controls.calls.length = 0;
    for (const headers of [
      JSON_TYPE,
      { "content-type": "application/json; charset=utf-8" },
      { "content-type": "Application/JSON;charset=UTF-8", host: `localhost:${port}` },
      { ...JSON_TYPE, host: `[::1]:${port}` },
      { ...JSON_TYPE, host: "localhost:8080" }, // kubectl port-forward 8080:9465
      { ...JSON_TYPE, origin: `http://127.0.0.1:${port}` }, // its own origin
    ]) {
      const answer = await switchWith(headers);
      assert.equal(answer.status, 200, `${JSON.stringify(headers)}: ${answer.body}`);
    }
    assert.equal(controls.calls.length, 6);
    assert.deepEqual(controls.calls[0], { action: "switch", spec: { variant: "int8" } });
    assert.equal((await call(port, { path: "/model" })).status, 200);
    assert.equal((await call(port, { method: "POST", path: "/model/rollback", headers: JSON_TYPE })).status, 200);
    const shadow = await call(port, {
      method: "PUT",
      path: "/shadow",
      headers: JSON_TYPE,
      body: JSON.stringify({ variant: "int8", samplePercent: 10 }),
    });
    assert.equal(shadow.status, 200, shadow.body);
    assert.deepEqual(controls.calls.at(-1), { action: "shadow", spec: { variant: "int8" }, samplePercent: 10 });
  });

  it("refuses what a web page can send, and switches nothing", async () => {
    controls.calls.length = 0;
    const cases: [Record<string, string>, number][] = [
      // The review's reproduction: a DNS-rebinding page's request as a browser sends it.
      [{ "content-type": "text/plain", origin: "http://evil.example", host: "evil.example" }, 421],
      [{ ...JSON_TYPE, host: `evil.example:${port}` }, 421], // rebinding: the page's own name
      [{ ...JSON_TYPE, host: `127.0.0.1.evil.example:${port}` }, 421],
      [{ ...JSON_TYPE, origin: "http://evil.example" }, 403], // cross-site
      [{ ...JSON_TYPE, origin: "null" }, 403], // a sandboxed frame, a file:// page
      [{ ...JSON_TYPE, origin: `http://localhost:${port + 1}` }, 403], // another local site
      [{ "content-type": "text/plain" }, 415], // fetch(..., {mode: "no-cors"}) from any page
      [{ "content-type": "text/plain;charset=UTF-8" }, 415],
      [{ "content-type": "application/x-www-form-urlencoded" }, 415], // an HTML form; curl -d
      [{ "content-type": "multipart/form-data; boundary=x" }, 415],
      [{ "content-type": "application/json; charset=latin1" }, 415],
      [{ "content-type": "application/jsonx" }, 415],
      [{}, 415],
    ];
    for (const [headers, status] of cases) {
      const answer = await switchWith(headers);
      assert.equal(answer.status, status, `${JSON.stringify(headers)}: ${answer.body}`);
      assert.match(answer.body, /"error"/);
    }
    // No Host at all (HTTP/1.0).
    const bare = await openConnection(port);
    bare.socket.write(
      `POST /model HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${INT8.length}\r\n\r\n${INT8}`,
    );
    await bare.closed;
    assert.match(bare.received(), /^HTTP\/1\.1 421 /);
    // A form can POST with no body at all: the roll-back needs the JSON type too.
    assert.equal((await call(port, { method: "POST", path: "/model/rollback" })).status, 415);
    assert.equal((await call(port, { path: "/model", headers: { host: "evil.example" } })).status, 421);
    assert.equal(
      (await call(port, { method: "DELETE", path: "/shadow", headers: { origin: "http://x" } })).status,
      403,
    );
    assert.deepEqual(controls.calls, [], "nothing was switched");
  });

  it("never lets __proto__ in a body name the model", async () => {
    controls.calls.length = 0;
    for (const body of [
      '{"__proto__":{"dir":"/x"}}',
      '{"variant":"int8","__proto__":{"dir":"/x"}}',
      '{"__proto__":{"variant":"int8"}}',
    ]) {
      const answer = await switchWith(JSON_TYPE, body);
      assert.equal(answer.status, 400, `${body}: ${answer.body}`);
      assert.match(answer.body, /__proto__/);
    }
    const shadow = await call(port, {
      method: "PUT",
      path: "/shadow",
      headers: JSON_TYPE,
      body: '{"variant":"int8","__proto__":{"samplePercent":1}}',
    });
    assert.equal(shadow.status, 400, shadow.body);
    assert.deepEqual(controls.calls, [], "nothing reached the switch");
  });

  it("reads a body up to 64 KiB, and refuses a larger one with 413", async () => {
    controls.calls.length = 0;
    const dirOf = (bytes: number) => `/${"d".repeat(bytes - JSON.stringify({ dir: "/" }).length)}`;
    const fits = JSON.stringify({ dir: dirOf(64 * 1024) });
    assert.equal(Buffer.byteLength(fits), 64 * 1024);
    assert.equal((await switchWith(JSON_TYPE, fits)).status, 200);
    const over = JSON.stringify({ dir: dirOf(64 * 1024 + 1) });
    assert.equal((await switchWith(JSON_TYPE, over)).status, 413);
    // Without a Content-Length (chunked), counted as it arrives.
    const chunked = await call(port, {
      method: "POST",
      path: "/model",
      headers: { ...JSON_TYPE, "transfer-encoding": "chunked" },
      body: over,
    });
    assert.equal(chunked.status, 413);
    assert.equal(controls.calls.length, 1, "only the body that fits switched");
  });
});

describe("admin endpoints with a token", () => {
  const controls = new RecordingControls();
  const servers: AdminServer[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));
  const listen = async (allowedHosts?: string[]) => {
    const s = await AdminServer.listen(controls, { port: 0, host: "127.0.0.1", token: TOKEN, allowedHosts });
    servers.push(s);
    return s.port;
  };
  const bearer = { ...JSON_TYPE, authorization: `Bearer ${TOKEN}` };

  it("answers the names a cluster client uses (pod IP, Service name), the token guarding", async () => {
    const port = await listen();
    controls.calls.length = 0;
    for (const host of ["10.0.3.7:9465", "sentiment-worker-admin.prod.svc.cluster.local", "[fd00::7]:9465"]) {
      const ok = await call(port, { method: "POST", path: "/model", headers: { ...bearer, host }, body: INT8 });
      assert.equal(ok.status, 200, `${host}: ${ok.body}`);
      const bare = await call(port, { method: "POST", path: "/model", headers: { ...JSON_TYPE, host }, body: INT8 });
      assert.equal(bare.status, 401, host);
    }
    // The Origin and Content-Type checks hold with a token too.
    const fromPage = { ...bearer, origin: "http://evil.example" };
    assert.equal((await call(port, { method: "POST", path: "/model", headers: fromPage, body: INT8 })).status, 403);
    const plain = { ...bearer, "content-type": "text/plain" };
    assert.equal((await call(port, { method: "POST", path: "/model", headers: plain, body: INT8 })).status, 415);
    assert.equal(controls.calls.length, 3);
  });

  it("checks the Host against rollout.adminAllowedHosts when it is set", async () => {
    const port = await listen(["sentiment-worker-admin.prod.svc", "10.0.3.7"]);
    controls.calls.length = 0;
    const post = (host: string) =>
      call(port, { method: "POST", path: "/model", headers: { ...bearer, host }, body: INT8 });
    assert.equal((await post("sentiment-worker-admin.prod.svc:9465")).status, 200);
    assert.equal((await post("SENTIMENT-WORKER-ADMIN.prod.svc")).status, 200);
    assert.equal((await post("10.0.3.7:9465")).status, 200);
    assert.equal((await post(`localhost:${port}`)).status, 200);
    assert.equal((await post("evil.example:9465")).status, 421);
    assert.equal((await post("10.0.3.8:9465")).status, 421);
    assert.equal(controls.calls.length, 4);
  });
});

describe("admin endpoints' connection limits", () => {
  it("closes a client that trickles its headers, or its body, within seconds", async () => {
    const server = await AdminServer.listen(new RecordingControls(), { port: 0, host: "127.0.0.1" });
    try {
      // HTTP_LIMITS: 5 s for the headers, 10 s for the whole request; Node checks every second.
      const [headers, body] = await Promise.all([
        slowLoris(server.port, { everyMs: 500, giveUpMs: 9_000 }),
        slowLoris(server.port, { everyMs: 500, giveUpMs: 14_000, body: true }),
      ]);
      assert.ok(headers.closedAfterMs >= 4_500, `headers: closed after ${headers.closedAfterMs} ms`);
      assert.ok(body.closedAfterMs >= 9_500, `body: closed after ${body.closedAfterMs} ms`);
      assert.match(headers.received, /^HTTP\/1\.1 408/);
    } finally {
      await server.close();
    }
  });

  it("refuses a connection over the cap, and takes one again once a connection closes", async () => {
    const server = await AdminServer.listen(new RecordingControls(), { port: 0, host: "127.0.0.1" });
    try {
      const held = await heldConnections(server.port, "/model", 32);
      const extra = await openConnection(server.port);
      extra.socket.write(`GET /model HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
      const closedAfter = await extra.closed;
      assert.equal(extra.received(), "", `the 33rd connection was served (closed after ${closedAfter} ms)`);
      held[0]?.socket.destroy();
      await held[0]?.closed;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await call(server.port, { path: "/model" })).status, 200);
      for (const c of held) c.socket.destroy();
    } finally {
      await server.close();
    }
  });
});
