import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { inspect } from "node:util";
import { ConfigError, HubError, ModelError, UnverifiableDownloadError } from "../../src/errors/errors.js";
import { HubClient } from "../../src/inference/model/hub-client.js";
import { type ModelSourceOptions, resolveModel } from "../../src/inference/model/index.js";
import { type FakeHub, type FakeRepo, repoSha, startFakeHub } from "../helpers/fake-hub.js";

const labels = { "0": "positive", "1": "neutral", "2": "negative" };

/** The files of a small fake export; the ONNX bytes are random (no session is created here). */
function modelFiles(overrides: Record<string, string | Uint8Array | null> = {}): Record<string, string | Uint8Array> {
  const files: Record<string, string | Uint8Array | null> = {
    "config.json": JSON.stringify({ model_type: "distilbert", id2label: labels, max_position_embeddings: 512 }),
    "tokenizer_config.json": JSON.stringify({ model_max_length: 256 }),
    // Over 1 KB, so the fake hub serves it as an LFS file like the real tokenizer.json.
    "tokenizer.json": JSON.stringify({ version: "1.0", model: { vocab: "x".repeat(2000) } }),
    "model.onnx": randomBytes(3000),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(files).filter((e): e is [string, string | Uint8Array] => e[1] !== null));
}

function manifestFor(files: Record<string, string | Uint8Array>, extra: object = {}): string {
  const entries = Object.fromEntries(
    Object.entries(files).map(([name, content]) => [
      name,
      { sha256: createHash("sha256").update(content).digest("hex"), bytes: Buffer.from(content).length },
    ]),
  );
  return JSON.stringify({ format: 1, source: "org/exported", revision: "abc123", opset: 17, files: entries, ...extra });
}

const sha256Of = (content: string | Uint8Array) => createHash("sha256").update(content).digest("hex");

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `sw-model-${prefix}-`));
}

function writeDir(files: Record<string, string | Uint8Array>): string {
  const dir = join(tempDir("dir"), "my-model");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

function options(overrides: Partial<ModelSourceOptions> = {}): ModelSourceOptions {
  return {
    id: "org/model",
    revision: "main",
    cacheDir: tempDir("cache"),
    variant: "fp32",
    hubUrl: "http://127.0.0.1:9",
    offline: false,
    maxLength: 512,
    env: {},
    ...overrides,
  };
}

async function rejectsWith<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
  ...patterns: RegExp[]
): Promise<E> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return e;
  }
  assert.fail(`expected a ${type.name}`);
}

describe("model source: local directory", () => {
  it("finds the files, reads the labels and lowers maxLength to the tokenizer's limit", async () => {
    const dir = writeDir(modelFiles());
    const model = await resolveModel(options({ dir }));
    assert.equal(model.dir, dir);
    assert.equal(model.onnxPath, join(dir, "model.onnx"));
    assert.equal(model.tokenizerPath, join(dir, "tokenizer.json"));
    assert.deepEqual(model.labels, ["positive", "neutral", "negative"]);
    assert.equal(model.maxLength, 256);
    assert.equal(model.name, "my-model");
    assert.equal(model.revision, "local");
  });

  it("takes the smallest length limit and works without tokenizer_config.json", async () => {
    const config = JSON.stringify({ id2label: labels, max_position_embeddings: 128 });
    const dir = writeDir(modelFiles({ "config.json": config, "tokenizer_config.json": null }));
    assert.equal((await resolveModel(options({ dir }))).maxLength, 128);
    assert.equal((await resolveModel(options({ dir, maxLength: 64 }))).maxLength, 64);
  });

  it("finds the ONNX file under onnx/ (the layout of Hugging Face ONNX repos)", async () => {
    const files = modelFiles({ "model.onnx": null, "onnx/model.onnx": randomBytes(100) });
    const dir = writeDir(files);
    assert.equal((await resolveModel(options({ dir }))).onnxPath, join(dir, "onnx", "model.onnx"));
  });

  it("picks model_quantized.onnx for the int8 variant", async () => {
    const dir = writeDir(modelFiles({ "model_quantized.onnx": randomBytes(100) }));
    assert.equal((await resolveModel(options({ dir, variant: "int8" }))).onnxPath, join(dir, "model_quantized.onnx"));
  });

  it("verifies the files against manifest.json and takes the name and revision from it", async () => {
    const files = modelFiles();
    const dir = writeDir({ ...files, "manifest.json": manifestFor(files) });
    const model = await resolveModel(options({ dir }));
    assert.equal(model.name, "org/exported");
    assert.equal(model.revision, "abc123");
  });

  it("fails on a file whose sha256 differs from manifest.json, naming the file", async () => {
    const files = modelFiles();
    const dir = writeDir({ ...files, "manifest.json": manifestFor(files) });
    const onnx = readFileSync(join(dir, "model.onnx"));
    onnx[10] = (onnx[10] ?? 0) ^ 1;
    writeFileSync(join(dir, "model.onnx"), onnx);
    await rejectsWith(resolveModel(options({ dir })), ModelError, /model\.onnx/, /sha256/, /manifest\.json/);
  });

  it("fails on a missing directory", async () => {
    const dir = join(tempDir("none"), "absent");
    await rejectsWith(
      resolveModel(options({ dir })),
      ModelError,
      new RegExp(`${basename(dir)} does not exist`),
      /model\.dir/,
    );
  });

  it("fails without an ONNX file, naming the names it looked for", async () => {
    const dir = writeDir(modelFiles({ "model.onnx": null }));
    await rejectsWith(resolveModel(options({ dir })), ModelError, /model\.onnx or onnx\/model\.onnx/, /run\.sh export/);
  });

  it("fails for int8 without model_quantized.onnx and says how to make one", async () => {
    const dir = writeDir(modelFiles());
    await rejectsWith(
      resolveModel(options({ dir, variant: "int8" })),
      ModelError,
      /model_quantized\.onnx or onnx\/model_quantized\.onnx/,
      /tools\/model\/run\.sh quantize/,
    );
  });

  for (const name of ["tokenizer.json", "config.json"]) {
    it(`fails without ${name}`, async () => {
      const dir = writeDir(modelFiles({ [name]: null }));
      await rejectsWith(resolveModel(options({ dir })), ModelError, new RegExp(`${name} is missing`));
    });
  }

  it("fails on a config.json that is not JSON", async () => {
    const dir = writeDir(modelFiles({ "config.json": "{ not json" }));
    await rejectsWith(resolveModel(options({ dir })), ModelError, /config\.json is not valid JSON/);
  });

  it("fails on a config.json without id2label, saying to export with labels", async () => {
    const dir = writeDir(modelFiles({ "config.json": JSON.stringify({ model_type: "distilbert" }) }));
    await rejectsWith(
      resolveModel(options({ dir })),
      ModelError,
      /config\.json has no id2label/,
      /export it with labels/,
    );
  });

  it("fails on placeholder labels and on labels that are not 0..n-1", async () => {
    const placeholder = JSON.stringify({ id2label: { "0": "LABEL_0", "1": "LABEL_1" } });
    await rejectsWith(resolveModel(options({ dir: writeDir(modelFiles({ "config.json": placeholder })) })), ModelError);
    const gap = JSON.stringify({ id2label: { "0": "positive", "2": "negative" } });
    await rejectsWith(
      resolveModel(options({ dir: writeDir(modelFiles({ "config.json": gap })) })),
      ModelError,
      /0\.\.1/,
    );
    const empty = JSON.stringify({ id2label: { "0": "positive", "1": "" } });
    await rejectsWith(resolveModel(options({ dir: writeDir(modelFiles({ "config.json": empty })) })), ModelError);
  });
});

describe("model source: hub", () => {
  let hub: FakeHub;
  const repos: Record<string, FakeRepo> = {};

  before(async () => {
    hub = await startFakeHub(repos);
  });
  after(() => hub.close());
  beforeEach(() => {
    hub.faults = {};
    hub.requests.length = 0;
    hub.authorizations.length = 0;
    for (const key of Object.keys(repos)) delete repos[key];
  });

  /** A repo laid out like Xenova's ONNX repos: ONNX files under onnx/. */
  function addRepo(id: string, overrides: Record<string, string | Uint8Array | null> = {}): FakeRepo {
    const files = modelFiles({ "model.onnx": null, "onnx/model.onnx": randomBytes(3000), ...overrides });
    repos[id] = { files };
    return repos[id];
  }

  function hubOptions(overrides: Partial<ModelSourceOptions> = {}): ModelSourceOptions {
    return options({ hubUrl: hub.url, ...overrides });
  }

  it("downloads the files into the cache and resolves the revision to the commit", async () => {
    const repo = addRepo("org/model");
    const sha = repoSha(repo);
    const opts = hubOptions();
    const model = await resolveModel(opts);

    const snapshot = join(opts.cacheDir, "org--model", sha);
    assert.equal(model.dir, snapshot);
    assert.equal(model.onnxPath, join(snapshot, "onnx", "model.onnx"));
    assert.equal(model.name, "org/model");
    assert.equal(model.revision, sha);
    assert.deepEqual(model.labels, ["positive", "neutral", "negative"]);
    assert.equal(model.maxLength, 256);
    assert.deepEqual(listFiles(snapshot).sort(), [
      "config.json",
      "onnx/model.onnx",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    for (const [name, content] of Object.entries(repo.files)) {
      assert.deepEqual(readFileSync(join(snapshot, name)), Buffer.from(content), name);
    }
    assert.equal(readFileSync(join(opts.cacheDir, "org--model", "refs", "main"), "utf8"), sha);
    assert.ok(
      hub.requests.some((r) => r.startsWith("GET /cdn/")),
      "LFS files come through the CDN redirect",
    );
  });

  it("uses the cache on the next start without any request, online, offline or pinned to the commit", async () => {
    addRepo("org/model");
    const opts = hubOptions();
    const first = await resolveModel(opts);
    const count = hub.requests.length;
    assert.deepEqual(await resolveModel(opts), first);
    assert.deepEqual(await resolveModel({ ...opts, offline: true }), first);
    assert.deepEqual(await resolveModel({ ...opts, env: { HF_HUB_OFFLINE: "1" } }), first);
    assert.deepEqual(await resolveModel({ ...opts, revision: first.revision, offline: true }), first);
    assert.equal(hub.requests.length, count);
  });

  it("fails offline without a cached snapshot, naming model.dir, and contacts nobody", async () => {
    addRepo("org/model");
    for (const opts of [hubOptions({ offline: true }), hubOptions({ env: { HF_HUB_OFFLINE: "true" } })]) {
      await rejectsWith(resolveModel(opts), ModelError, /model\.dir/, /SW_MODEL_DIR/, /pre-fetch/);
    }
    assert.equal(hub.requests.length, 0);
  });

  for (const [fault, file] of [
    ["corrupt", "onnx/model.onnx"],
    ["corrupt", "config.json"],
    ["truncate", "tokenizer.json"],
  ] as const) {
    it(`rejects a ${fault} download of ${file} and leaves no such file in the cache`, async () => {
      addRepo("org/model");
      const opts = hubOptions();
      hub.faults[fault] = file;
      const error = await rejectsWith(resolveModel(opts), HubError, fault === "corrupt" ? /corrupt/ : /broke off/);
      assert.equal(error.retriable, true);
      const files = listFiles(join(opts.cacheDir, "org--model"));
      assert.ok(!files.some((f) => f.endsWith(file) || f.endsWith(".part") || f.startsWith("refs")), files.join(","));

      hub.faults = {};
      const model = await resolveModel(opts);
      assert.ok(existsSync(join(model.dir, file)), "the next attempt downloads it");
    });
  }

  it("fails with a non-retriable HubError on an unknown repo or revision", async () => {
    addRepo("org/model");
    const repoError = await rejectsWith(
      resolveModel(hubOptions({ id: "org/absent" })),
      HubError,
      /404/,
      /does not exist/,
    );
    assert.equal(repoError.retriable, false);
    await rejectsWith(resolveModel(hubOptions({ revision: "v9" })), HubError, /404/, /revision/, /model\.revision/);
  });

  it("fails with a retriable HubError naming the URL when the hub answers 500", async () => {
    addRepo("org/model");
    hub.faults.serverError = true;
    const error = await rejectsWith(
      resolveModel(hubOptions()),
      HubError,
      /500/,
      /\/api\/models\/org\/model/,
      /model\.offline/,
    );
    assert.equal(error.retriable, true);
  });

  it("fails with a retriable HubError when the hub cannot be reached", async () => {
    const down = await startFakeHub({});
    await down.close();
    const error = await rejectsWith(
      resolveModel(options({ hubUrl: down.url })),
      HubError,
      /cannot reach/,
      /model\.dir/,
    );
    assert.equal(error.retriable, true);
  });

  it("sends HF_TOKEN to a private repo and says a token is needed without it", async () => {
    addRepo("org/private").token = "hf_secret";
    await rejectsWith(resolveModel(hubOptions({ id: "org/private" })), HubError, /401/, /HF_TOKEN/);
    const model = await resolveModel(hubOptions({ id: "org/private", env: { HF_TOKEN: "hf_secret" } }));
    assert.equal(model.name, "org/private");
    assert.ok(hub.authorizations.includes("Bearer hf_secret"));
  });

  it("fails on a repo without ONNX files, pointing at an ONNX export", async () => {
    addRepo("lxyuan/pytorch-only", { "onnx/model.onnx": null, "model.safetensors": randomBytes(2000) });
    await rejectsWith(
      resolveModel(hubOptions({ id: "lxyuan/pytorch-only" })),
      ModelError,
      /no ONNX file/,
      /Xenova\/distilbert-base-multilingual-cased-sentiments-student/,
      /tools\/model\/run\.sh export --source <repo> --out <dir>/,
    );
  });

  it("downloads only model_quantized.onnx for the int8 variant", async () => {
    addRepo("org/model", { "onnx/model_quantized.onnx": randomBytes(1500) });
    const model = await resolveModel(hubOptions({ variant: "int8" }));
    assert.equal(basename(model.onnxPath), "model_quantized.onnx");
    assert.ok(!hub.requests.some((r) => r.endsWith("/model.onnx")));
  });

  it("refuses a file the hub gives no digest of, without downloading it, and caches nothing", async () => {
    // Before: the bytes were accepted as they came; a corrupted model.onnx became the model.
    addRepo("org/model");
    const opts = hubOptions();
    hub.faults.noDigest = "onnx/model.onnx";
    hub.faults.corrupt = "onnx/model.onnx";
    hub.faults.crossOriginCdn = true; // as the real CDN is
    const error = await rejectsWith(
      resolveModel(opts),
      UnverifiableDownloadError,
      /onnx\/model\.onnx/,
      /no digest/,
      /model\.sha256/,
      /model\.dir/,
    );
    assert.equal(error.retriable, false);
    assert.ok(
      !hub.requests.some((r) => r.startsWith("GET /cdn/") && r.endsWith("/onnx/model.onnx")),
      "its body is not even fetched",
    );
    const files = listFiles(join(opts.cacheDir, "org--model"));
    assert.ok(!files.some((f) => f.endsWith(".onnx") || f.endsWith(".part") || f.startsWith("refs")), files.join(","));
  });

  for (const file of ["onnx/model.onnx", "config.json"]) {
    it(`checks ${file} against the file list's digest when the hub's headers carry none`, async () => {
      addRepo("org/model");
      const opts = hubOptions();
      hub.faults.noDigestHeaders = file;
      hub.faults.corrupt = file;
      await rejectsWith(resolveModel(opts), HubError, /corrupt/, /the hub's file list/);
      assert.ok(!listFiles(join(opts.cacheDir, "org--model")).some((f) => f.endsWith(file)));
      hub.faults.corrupt = undefined;
      assert.ok(existsSync(join((await resolveModel(opts)).dir, file)), "the list's digest alone is enough");
    });
  }

  it("takes a file the hub gives no digest of when model.sha256 pins it, and refuses it when the pin differs", async () => {
    const repo = addRepo("org/model");
    const onnx = repo.files["onnx/model.onnx"] as Uint8Array;
    hub.faults.noDigest = "onnx/model.onnx";
    const wrong = hubOptions({ sha256: "0".repeat(64) });
    const error = await rejectsWith(resolveModel(wrong), HubError, /model\.sha256 pins/);
    assert.equal(error.retriable, true, "nothing else vouched for the bytes: they may have been damaged on the way");
    assert.ok(!listFiles(join(wrong.cacheDir, "org--model")).some((f) => f.endsWith(".onnx")));
    const model = await resolveModel(hubOptions({ sha256: sha256Of(onnx).toUpperCase() }));
    assert.deepEqual(readFileSync(model.onnxPath), Buffer.from(onnx));
  });

  it("refuses, for good, a file the hub vouches for that is not the one model.sha256 pins", async () => {
    addRepo("org/model");
    const error = await rejectsWith(
      resolveModel(hubOptions({ sha256: "0".repeat(64) })),
      HubError,
      /model\.sha256 pins/,
      /another file than the pinned one/,
    );
    assert.equal(error.retriable, false);
  });

  it("checks model.sha256 at every start: from the cache and from model.dir", async () => {
    addRepo("org/model");
    const opts = hubOptions();
    const cached = await resolveModel(opts);
    const pin = sha256Of(readFileSync(cached.onnxPath));
    assert.deepEqual(await resolveModel({ ...opts, offline: true, sha256: pin }), cached);
    await rejectsWith(
      resolveModel({ ...opts, offline: true, sha256: "0".repeat(64) }),
      ModelError,
      /model\.sha256 pins/,
    );
    const dir = writeDir(modelFiles());
    await rejectsWith(
      resolveModel(options({ dir, sha256: "1".repeat(64) })),
      ModelError,
      /model\.onnx/,
      /model\.sha256/,
    );
    assert.equal(
      (await resolveModel(options({ dir, sha256: sha256Of(readFileSync(join(dir, "model.onnx"))) }))).dir,
      dir,
    );
  });

  it("refuses a file the hub serves from another commit than the one asked for", async () => {
    addRepo("org/model");
    hub.faults.wrongCommit = "f".repeat(40);
    await rejectsWith(resolveModel(hubOptions()), HubError, /commit f{40}, not from the commit/);
  });

  it("removes the partial downloads an interrupted fetch left, but not one another fetch may be writing", async () => {
    const repo = addRepo("org/model");
    const opts = hubOptions();
    const repoDir = join(opts.cacheDir, "org--model");
    const snapshot = join(repoDir, repoSha(repo));
    const stale = [
      join(snapshot, "onnx", ".model.onnx.0123456789ab.part"),
      join(repoDir, "0".repeat(40), ".config.json.abcdefabcdef.part"), // a snapshot of another commit
      join(repoDir, "refs", ".main.0123456789ab.part"),
      join(snapshot, ".a1b2c3d4e5f6.part"), // the names of earlier versions
      join(repoDir, "refs", "main.1.a1b2c3d4e5f6.part"),
    ];
    const fresh = join(snapshot, "onnx", ".model.onnx.fedcba987654.part");
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const file of [...stale, fresh]) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, "partial");
    }
    for (const file of stale) utimesSync(file, hourAgo, hourAgo);
    const logged: string[] = [];
    await resolveModel({ ...opts, log: (message) => logged.push(message) });
    for (const file of stale) assert.ok(!existsSync(file), file);
    assert.ok(existsSync(fresh), "a .part modified within STALE_PART_MS may be another fetch's, still running");
    assert.ok(
      logged.some((m) => /partial downloads/.test(m)),
      logged.join("\n"),
    );
  });

  it("gives up a download that stalls, leaving no partial file: a .part untouched for long is an orphan", async () => {
    const repo = addRepo("org/model");
    hub.faults.stall = "onnx/model.onnx";
    const dest = join(tempDir("stall"), "onnx", "model.onnx");
    const client = new HubClient({ hubUrl: hub.url, idleMs: 300 });
    const { files } = await client.revisionInfo("org/model", "main");
    const listed = files.find((f) => f.path === "onnx/model.onnx");
    assert.ok(listed?.sha256, "the file list gives the LFS file's sha256");
    const started = Date.now();
    const error = await rejectsWith(
      client.download("org/model", repoSha(repo), listed, dest),
      HubError,
      /broke off after 1500 bytes/,
      /nothing received for 0\.3 s/,
    );
    assert.equal(error.retriable, true);
    assert.ok(Date.now() - started < 5_000);
    assert.deepEqual(listFiles(dirname(dirname(dest))), []);
  });

  it("lets two fetches into one cache run at once: both succeed and no partial file stays", async () => {
    addRepo("org/model");
    const opts = hubOptions();
    const [a, b] = await Promise.all([resolveModel(opts), resolveModel(opts)]);
    assert.deepEqual(a, b);
    assert.ok(!listFiles(join(opts.cacheDir, "org--model")).some((f) => f.endsWith(".part")));
  });

  it("never uses a name from the hub's file list as a path: it fetches the files it needs by their own names", async () => {
    addRepo("org/model", {
      "../../escape.onnx": randomBytes(2000),
      "onnx/../../../up.json": "{}",
      "/etc/passwd.onnx": "x",
    });
    const opts = hubOptions();
    const model = await resolveModel(opts);
    assert.deepEqual(listFiles(model.dir).sort(), [
      "config.json",
      "onnx/model.onnx",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    assert.deepEqual(
      listFiles(opts.cacheDir).filter((f) => !f.startsWith("org--model/")),
      [],
    );
    assert.ok(!hub.requests.some((r) => /escape|up\.json|passwd/.test(r)), hub.requests.join("\n"));
  });

  it("sends HF_TOKEN to the hub but not to the CDN it redirects to", async () => {
    addRepo("org/private").token = "hf_secret";
    hub.faults.crossOriginCdn = true;
    await resolveModel(hubOptions({ id: "org/private", env: { HF_TOKEN: "hf_secret" } }));
    const sent = (cdn: boolean) =>
      new Set(hub.requests.flatMap((r, i) => (r.startsWith("GET /cdn/") === cdn ? [hub.authorizations[i]] : [])));
    assert.deepEqual(sent(true), new Set([undefined]));
    assert.deepEqual(sent(false), new Set(["Bearer hf_secret"]));
  });

  it("sends HF_TOKEN over https or to loopback only; over plain http to another host it refuses, sending nothing", async () => {
    addRepo("org/private").token = "hf_secret";
    const sent: string[] = [];
    // Stands for a hub on another host: the requests reach the fake hub with the headers as they were sent.
    const remote: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      sent.push(`${url.origin} ${new Headers(init?.headers).get("authorization")}`);
      return fetch(`${hub.url}${url.pathname}${url.search}`, init);
    };
    const withToken = { id: "org/private", env: { HF_TOKEN: "hf_secret" }, fetch: remote };
    await rejectsWith(
      resolveModel(hubOptions({ ...withToken, hubUrl: "http://hub.example" })),
      ConfigError,
      /model\.hubUrl/,
      /HF_TOKEN/,
      /https/,
    );
    assert.deepEqual(sent, []);

    await resolveModel(hubOptions({ ...withToken, hubUrl: "https://hub.example" }));
    assert.ok(sent.length > 0 && sent.every((s) => s === "https://hub.example Bearer hf_secret"), sent.join("\n"));
    sent.length = 0;
    addRepo("org/public");
    await resolveModel(hubOptions({ id: "org/public", fetch: remote, hubUrl: "http://hub.example" }));
    assert.ok(sent.length > 0 && sent.every((s) => s === "http://hub.example null"), "no token, no objection");
  });

  it("never shows credentials of a URL the hub redirects to, in the message or any cause", async () => {
    addRepo("org/model");
    hub.faults.credentialsInRedirect = "config.json";
    const error = await rejectsWith(resolveModel(hubOptions()), HubError, /user:\*\*\*@/);
    for (let e: unknown = error; e instanceof Error; e = e.cause)
      assert.doesNotMatch(`${e.message}\n${e.stack}`, /s3cret/);
    assert.doesNotMatch(inspect(error, { depth: 10 }), /s3cret/);
  });

  it("fails on a downloaded file that differs from the repo's manifest.json, and records no ref", async () => {
    const repo = addRepo("org/model");
    const files = { ...repo.files, "onnx/model.onnx": randomBytes(3000) };
    repo.files["manifest.json"] = manifestFor(files);
    const opts = hubOptions();
    await rejectsWith(resolveModel(opts), ModelError, /onnx\/model\.onnx/, /sha256/);
    assert.ok(!existsSync(join(opts.cacheDir, "org--model", "refs", "main")));
  });
});
