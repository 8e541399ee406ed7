/**
 * The schema registry client against a real HTTPS server of the test's own (a certificate for
 * 127.0.0.1 made with the JDK's keytool, as scripts/services.mjs makes the broker's): basic and
 * bearer authentication, the CA trusted from a file and an untrusted certificate refused,
 * references fetched depth first, what counts as "no such schema" (404 with 40403, only) and what
 * counts as unavailable (anything else, a timeout), and no secret in any error.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { ConfigError, SchemaRegistryUnavailableError } from "../../src/errors/errors.js";
import { type RegistrySettings, SchemaRegistryClient } from "../../src/schema-registry/registry-client.js";

const keytool = spawnSync("keytool", ["-help"], { stdio: "ignore" }).error ? undefined : "keytool";
if (!keytool && process.env.CI) throw new Error("keytool (a JDK) is needed for this test in CI");
const skip = keytool ? false : "needs keytool (a JDK: apt-get install default-jre-headless)";

const dir = mkdtempSync(join(tmpdir(), "sw-registry-tls-"));
const PASSWORD = "s3cret-pass";
const TOKEN = "tok-9f8e7d6c5b4a";
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
let base = "";
let server: ReturnType<typeof createServer> | undefined;

function makeCertificate(): { pfx: Buffer; passphrase: string; caFile: string } {
  const passphrase = randomBytes(8).toString("hex");
  const keystore = join(dir, "server.p12");
  const caFile = join(dir, "ca.pem");
  const run = (args: string[]) => {
    const r = spawnSync("keytool", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`keytool ${args[0]}: ${r.stdout}${r.stderr}`);
  };
  run([
    "-genkeypair",
    "-alias",
    "registry",
    "-keyalg",
    "RSA",
    "-keysize",
    "2048",
    "-validity",
    "2",
    "-dname",
    "CN=localhost",
    "-ext",
    "SAN=IP:127.0.0.1",
    "-keystore",
    keystore,
    "-storetype",
    "PKCS12",
    "-storepass",
    passphrase,
    "-keypass",
    passphrase,
  ]);
  run(["-exportcert", "-rfc", "-alias", "registry", "-keystore", keystore, "-storepass", passphrase, "-file", caFile]);
  return { pfx: readFileSync(keystore), passphrase, caFile };
}

let caFile = "";
before(async () => {
  if (skip) return;
  const cert = makeCertificate();
  caFile = cert.caFile;
  const https = createServer({ pfx: cert.pfx, passphrase: cert.passphrase }, (req, res) => handler(req, res));
  server = https;
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(https.address() as AddressInfo).port}/apis/ccompat/v7`;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

const defaults = loadConfig({ env: {} }).input.schemaRegistry;
const client = (settings: Partial<RegistrySettings> = {}) =>
  new SchemaRegistryClient({ ...defaults, caFile, ...settings, url: settings.url ?? base });
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/vnd.schemaregistry.v1+json" });
  res.end(JSON.stringify(body));
};
/** The error `promise` rejects with, checked to be "unavailable" and to carry no secret. */
async function unavailable(promise: Promise<unknown>): Promise<SchemaRegistryUnavailableError> {
  const error = await promise.then(
    () => assert.fail("expected the registry to count as unavailable"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof SchemaRegistryUnavailableError, String(error));
  for (const secret of [PASSWORD, TOKEN, Buffer.from(`u:${PASSWORD}`).toString("base64")]) {
    assert.ok(!String(error.message).includes(secret), `the error shows a secret: ${error.message}`);
  }
  return error;
}

describe("the schema registry client", { skip }, () => {
  it("asks over TLS with basic authentication, and brings the references, each before its user", async () => {
    const seen: string[] = [];
    handler = (req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      if (req.headers.authorization !== `Basic ${Buffer.from(`u:${PASSWORD}`).toString("base64")}`) {
        return json(res, 401, { error_code: 40101, message: "Unauthorized" });
      }
      if (req.url === "/apis/ccompat/v7/schemas/ids/42") {
        return json(res, 200, {
          schemaType: "PROTOBUF",
          schema: 'import "common.proto"; message Post { Common c = 1; }',
          references: [{ name: "common.proto", subject: "common value", version: 3 }],
        });
      }
      if (req.url === "/apis/ccompat/v7/subjects/common%20value/versions/3") {
        return json(res, 200, {
          schemaType: "PROTOBUF",
          schema: 'import "base.proto"; message Common { Base b = 1; }',
          references: [{ name: "base.proto", subject: "base", version: 1 }],
        });
      }
      if (req.url === "/apis/ccompat/v7/subjects/base/versions/1") {
        return json(res, 200, { schemaType: "PROTOBUF", schema: "message Base {}" });
      }
      json(res, 404, { error_code: 40403 });
    };
    const lookup = await client({ username: "u", password: PASSWORD }).schemaById(42);
    assert.ok(lookup.found);
    assert.equal(lookup.schema.schemaType, "PROTOBUF");
    assert.deepEqual(
      lookup.schema.references.map((r) => r.name),
      ["base.proto", "common.proto"],
    );
    assert.equal(seen.length, 3);
    // Wrong credentials: not the record's fault, and the error shows none of them.
    const error = await unavailable(client({ username: "u", password: "wrong" }).schemaById(42));
    assert.match(error.message, /401/);
  });

  it("sends a bearer token, and reads credentials in the URL as basic authentication", async () => {
    const auth: string[] = [];
    handler = (req, res) => {
      auth.push(String(req.headers.authorization));
      json(res, 200, { schema: '"string"' });
    };
    const avro = await client({ token: TOKEN }).schemaById(1);
    assert.deepEqual(avro, { found: true, schema: { schemaType: "AVRO", schema: '"string"', references: [] } });
    await client({ url: base.replace("https://", `https://u:${PASSWORD}@`) }).schemaById(1);
    assert.deepEqual(auth, [`Bearer ${TOKEN}`, `Basic ${Buffer.from(`u:${PASSWORD}`).toString("base64")}`]);
  });

  it("only a 404 with error code 40403 is 'no such schema'; another 404 (a wrong URL) or a 500 is unavailable", async () => {
    handler = (req, res) => {
      if (req.url?.endsWith("/ids/7")) return json(res, 404, { error_code: 40403, message: "not found" });
      if (req.url?.endsWith("/ids/8")) return json(res, 404, { message: "HTTP 404 Not Found" });
      json(res, 500, { error_code: 50001 });
    };
    assert.deepEqual(await client().schemaById(7), {
      found: false,
      message: "the schema registry has no schema with id 7",
    });
    await unavailable(client().schemaById(8));
    await unavailable(client().schemaById(9));
  });

  it("refuses a certificate it does not trust, gives up on a registry that does not answer in time", async () => {
    handler = (_req, res) => json(res, 200, { schema: '"string"' });
    const untrusted = await unavailable(client({ caFile: undefined, token: TOKEN }).schemaById(1));
    assert.match(untrusted.message, /self[- ]signed|certificate/i);
    handler = () => {}; // never answers
    const started = Date.now();
    const slow = await unavailable(client({ timeoutMs: 300 }).schemaById(1));
    assert.match(slow.message, /300 ms/);
    assert.ok(Date.now() - started < 3000);
  });

  it("a CA file that cannot be read stops start-up naming the setting", () => {
    assert.throws(
      () => client({ caFile: join(dir, "missing.pem") }),
      (e: unknown) => e instanceof ConfigError && e.problems[0]?.path === "input.schemaRegistry.caFile",
    );
  });

  it("registers a schema, then sets its subject's compatibility; a refused setting is only told, a refused schema throws", async () => {
    const calls: string[] = [];
    let configStatus = 200;
    handler = (req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        calls.push(`${req.method} ${req.url} ${body}`);
        if (req.method === "POST" && req.url?.endsWith("/subjects/out-value/versions"))
          return json(res, 200, { id: 5 });
        if (req.method === "POST") return json(res, 409, { error_code: 0, message: "Incompatible artifact" });
        json(res, configStatus, configStatus === 200 ? { compatibility: "BACKWARD" } : { error_code: 40301 });
      });
    };
    const refused: string[] = [];
    const c = client({ token: TOKEN });
    assert.equal(await c.register("out-value", '"string"', "AVRO", "BACKWARD", (m) => refused.push(m)), 5);
    assert.deepEqual(calls, [
      `POST /apis/ccompat/v7/subjects/out-value/versions {"schema":"\\"string\\""}`,
      'PUT /apis/ccompat/v7/config/out-value {"compatibility":"BACKWARD"}',
    ]);
    configStatus = 403;
    assert.equal(await c.register("out-value", '"string"', "AVRO", "BACKWARD", (m) => refused.push(m)), 5);
    assert.equal(refused.length, 1);
    assert.match(refused[0] ?? "", /403/);
    const error = await unavailable(c.register("other-value", '"int"', "AVRO", "BACKWARD"));
    assert.match(error.message, /409/);
  });
});
