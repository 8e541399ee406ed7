import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors/errors.js";

/** The problems of the ConfigError `fn` throws; fails the test when it throws none, or another error. */
export function problemsOf(fn: () => unknown): ConfigError["problems"] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail("expected the configuration to be rejected");
}
