/**
 * Errors whose messages quote a URL with credentials (fetch's "Request cannot be constructed from a
 * URL that includes credentials: http://user:pass@…") are printed and logged with the credentials
 * masked, causes included.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { redactError, redactText } from "../../src/config/index.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const leaky = () =>
  new Error("cannot reach the hub", {
    cause: new TypeError(
      "Request cannot be constructed from a URL that includes credentials: http://user:s3cret@hub.example/api?token=t0k",
    ),
  });

describe("redacting error messages", () => {
  it("masks the password and credential parameters of URLs in text, and leaves everything else as written", () => {
    assert.equal(
      redactText("at http://user:s3cret@hub.example:8080/x?token=t0k&rev=main (retry)"),
      "at http://user:***@hub.example:8080/x?token=***&rev=main (retry)",
    );
    const plain = "GET https://huggingface.co/org/model/resolve/main/config.json answered 404; see docs/model.md";
    assert.equal(redactText(plain), plain);
  });

  it("copies an error with its whole cause chain redacted, keeping names and codes", () => {
    const original = leaky();
    Object.assign(original.cause as Error, { code: "ERR_INVALID_URL" });
    const copy = redactError(original) as Error;
    assert.equal(copy.message, original.message);
    const cause = copy.cause as Error & { code?: string };
    assert.equal(cause.name, "TypeError");
    assert.equal(cause.code, "ERR_INVALID_URL");
    assert.match(cause.message, /http:\/\/user:\*\*\*@hub\.example\/api\?token=\*\*\*/);
    assert.doesNotMatch(inspect(copy, { depth: 10 }), /s3cret|t0k/);
  });

  it("the JSON logs mask them in an error's message, stack and causes", () => {
    // The live worker's logger writes to stderr (fd 2), synchronously: run it in a child to read it.
    const logger = join(REPO_ROOT, "dist/src/telemetry/logger.js");
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const error = new Error("cannot reach the hub", { cause: new TypeError("Request cannot be constructed from a URL that includes credentials: http://user:s3cret@hub.example/api") });
      createLogger("info", "test").error({ err: error }, "the model could not be loaded");
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const line = JSON.parse(child.stderr.trim()) as { err: { message: string; stack: string } };
    assert.match(line.err.message, /cannot reach the hub: Request cannot .* http:\/\/user:\*\*\*@hub\.example\/api/);
    assert.doesNotMatch(child.stderr, /s3cret/);
  });
});
