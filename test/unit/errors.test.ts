/** The error helpers every part uses: one way to say an error, one hierarchy, one label-set check. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorMessage, errorMessageWithCauses } from "../../src/errors/error-message.js";
import { AbandonedChunkError, ModelError, SentimentWorkerError } from "../../src/errors/errors.js";
import { checkSentimentLabels, sameLabels } from "../../src/events/sentiment-event.js";

describe("errorMessage", () => {
  it("says an Error by its message and anything else thrown by its string", () => {
    assert.equal(errorMessage(new RangeError("too big")), "too big");
    assert.equal(errorMessage("a string"), "a string");
    assert.equal(errorMessage(42), "42");
    assert.equal(errorMessage(undefined), "undefined");
    assert.equal(errorMessage(new Error("outer", { cause: new Error("inner") })), "outer");
  });

  it("with causes, follows the chain (what a thread sends back)", () => {
    const error = new Error("load failed", { cause: new Error("no such file", { cause: "ENOENT" }) });
    assert.equal(errorMessageWithCauses(error), "load failed: no such file: ENOENT");
    assert.equal(errorMessageWithCauses("plain"), "plain");
  });
});

describe("AbandonedChunkError", () => {
  it("is in the hierarchy, named, and not retriable (the partition's next owner reads the records again)", () => {
    const error = new AbandonedChunkError();
    assert.ok(error instanceof SentimentWorkerError);
    assert.equal(error.name, "AbandonedChunkError");
    assert.equal(error.retriable, false);
    assert.match(error.message, /abandoned/);
  });
});

describe("the label-set check", () => {
  it("compares label sets whatever their order", () => {
    assert.equal(sameLabels(["negative", "neutral", "positive"], ["positive", "neutral", "negative"]), true);
    assert.equal(sameLabels(["positive", "negative"], ["positive", "neutral", "negative"]), false);
    assert.equal(sameLabels(["a", "b"], ["a", "c"]), false);
  });

  it("accepts the three labels of sentiment.v1 in any order and refuses others with a ModelError", () => {
    checkSentimentLabels(["negative", "positive", "neutral"]);
    assert.throws(
      () => checkSentimentLabels(["LABEL_0", "LABEL_1"]),
      (error: Error) => {
        assert.ok(error instanceof ModelError);
        assert.match(error.message, /need the labels positive, neutral, negative; the model has LABEL_0, LABEL_1/);
        return true;
      },
    );
  });
});
