/** Language identification on its own thread gives what the in-process identifier gives, in order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sharedLanguageIdentifier } from "../../src/language/event-language.js";
import { ThreadedLanguageIdentifier } from "../../src/language/language-thread.js";
import { tinyTexts } from "../helpers/fixtures.js";

describe("the language thread", () => {
  it("identifies every corpus text as the in-process identifier does, in order, and refuses once closed", async () => {
    const texts = tinyTexts();
    const thread = await ThreadedLanguageIdentifier.start();
    try {
      const here = texts.map((text) => sharedLanguageIdentifier().identify(text));
      assert.deepEqual(await thread.identifyAll(texts), here);
      assert.ok(new Set(here.map((h) => h.lang)).size >= 10, "the corpus spans many languages");
      assert.deepEqual(await thread.identifyAll([]), []);
    } finally {
      await thread.close();
    }
    await assert.rejects(thread.identifyAll(["still there?"]), /closed/);
  });
});
