/**
 * The session in its own thread answers exactly as on the calling thread, reports loading and
 * run failures with our errors, and does not outlive `close()`; the tokenizer's word cache never
 * changes an id. A thread that dies is replaced: the batches on it fail, the next ones are served;
 * with two inference threads, the other one's are not touched.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { InferenceError, ModelError } from "../../src/errors/errors.js";
import { ThreadedOnnxBackend } from "../../src/inference/onnx-thread.js";
import { padBatch } from "../../src/inference/padded-batch.js";
import { TextTokenizer } from "../../src/inference/tokenizer.js";
import { ThreadedTokenizer } from "../../src/inference/tokenizer-thread.js";
import { RestartingThread } from "../../src/threads/restarting-thread.js";
import { threadLabel } from "../../src/threads/worker-channel.js";
import { TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";
import { tinyBackends } from "../helpers/onnx-backends.js";

const runtime = { executionProviders: ["cpu"], intraOpThreads: 1, interOpThreads: 1 };
const onnxPath = join(TINY_MODEL_DIR, "model.onnx");
const parity = tinyParity();
const tokenizer = () => TextTokenizer.fromFile(join(TINY_MODEL_DIR, "tokenizer.json"), parity.maxLength);

describe("ONNX Runtime in its own thread", () => {
  const backends = tinyBackends();

  it("gives the same logits as the session on the calling thread, batches in flight together", async () => {
    const encoded = await tokenizer().encodeAll(parity.items.map((item) => item.text));
    const batches: ReturnType<typeof padBatch>[][] = [];
    for (let i = 0; i < encoded.length; i += 16) {
      const items = encoded.slice(i, i + 16);
      // Two copies: the threaded backend takes ownership of (transfers) the one it is given.
      batches.push([padBatch(items), padBatch(items)]);
    }
    const fromThread = await Promise.all(batches.map(([a]) => backends.threaded.run(a as ReturnType<typeof padBatch>)));
    for (const [i, [, b]] of batches.entries()) {
      assert.deepEqual(fromThread[i], await backends.inline.run(b as ReturnType<typeof padBatch>), `batch ${i}`);
    }
  });

  it("fails a bad batch with InferenceError and keeps serving", async () => {
    const bad = {
      size: 1,
      length: 2,
      inputIds: new BigInt64Array(3),
      attentionMask: new BigInt64Array(3),
      realTokens: 2,
    };
    await assert.rejects(backends.threaded.run(bad), InferenceError);
    const logits = await backends.threaded.run(padBatch([{ ids: [101, 102], tokens: 2, truncated: false }]));
    assert.equal(logits.length, 3);
  });

  it("reports a model it cannot load as ModelError, naming the problem", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "sw-onnx-thread-")), "model.onnx");
    writeFileSync(path, "not a model");
    await assert.rejects(ThreadedOnnxBackend.load(path, 3, runtime), (e) => {
      assert.ok(e instanceof ModelError);
      assert.match(e.message, /cannot load the ONNX model .*model\.onnx/);
      return true;
    });
    await assert.rejects(ThreadedOnnxBackend.load(onnxPath, 5, runtime), /config\.json names 5 labels/);
  });

  it('runs as a thread named "inference" (top -H, /proc; the e2e bench\'s CPU by thread)', async () => {
    const names = readdirSync("/proc/self/task").map((task) => {
      try {
        return readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim();
      } catch {
        return "";
      }
    });
    // The backends above started one; ONNX Runtime's own threads, made by it, carry its name too.
    assert.ok(names.includes("inference"), `threads: ${names.join(", ")}`);
    assert.equal(threadLabel("a processing thread"), "processing");
    assert.equal(threadLabel("the tokenizer thread"), "tokenizer");
  });

  it("refuses work after close", async () => {
    const backend = await ThreadedOnnxBackend.load(onnxPath, 3, runtime);
    await backend.close();
    await backend.close();
    await assert.rejects(backend.run(padBatch([{ ids: [101, 102], tokens: 2, truncated: false }])), InferenceError);
  });
});

describe("an inference or tokenizer thread that dies", () => {
  const packed = (first: number) => ({ ids: Int32Array.from([101, first, 102]), starts: Int32Array.from([0, 3]) });
  const GOOD = 2023;
  const POISON = 666666; // test/helpers/dying-onnx-thread.ts exits on it

  it("fails the batches in flight on it; a new thread loads the same model and scores the next, logged with the exit code", async () => {
    const logged: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const backend = await ThreadedOnnxBackend.load(onnxPath, 3, runtime, undefined, {
      threadUrl: new URL("../helpers/dying-onnx-thread.js", import.meta.url),
      log: (message, fields) => void logged.push({ message, ...(fields ? { fields } : {}) }),
    });
    try {
      const before = await backend.scorePacked(packed(GOOD));
      // The second batch waits in the thread behind the first when it exits: both fail.
      const [dying, queued] = [backend.scorePacked(packed(POISON)), backend.scorePacked(packed(GOOD))];
      await assert.rejects(
        dying,
        (e) => e instanceof InferenceError && /inference thread exited \(code 7\)/.test(e.message),
      );
      await assert.rejects(queued, /inference thread exited \(code 7\)/);
      assert.equal(backend.ready, false, "not ready until the new thread loaded the model");
      const after = await backend.scorePacked(packed(GOOD));
      assert.deepEqual(after.scores, before.scores, "the same model, the same options");
      assert.equal(backend.ready, true);
      assert.deepEqual(logged, [
        {
          message: "the inference thread stopped; starting another in its place",
          fields: { exitCode: 7, reason: "the inference thread exited (code 7)" },
        },
      ]);
      // Made to exit from outside, as often as it takes.
      const thread = [...RestartingThread.running].find((t) => t.name === "the inference thread");
      assert.ok(thread);
      for (let i = 0; i < 2; i++) {
        await thread.exitForTest();
        assert.deepEqual((await backend.scorePacked(packed(GOOD))).scores, before.scores);
      }
      assert.equal(logged.length, 3);
    } finally {
      await backend.close();
    }
    await assert.rejects(backend.scorePacked(packed(GOOD)), /inference thread is closed/);
  });

  it("with two inference threads (runtime.inferenceThreads), batches in flight together run on both; one dying fails only its own", async () => {
    const logged: string[] = [];
    const before = RestartingThread.running.size;
    const backend = await ThreadedOnnxBackend.load(onnxPath, 3, { ...runtime, inferenceThreads: 2 }, undefined, {
      threadUrl: new URL("../helpers/dying-onnx-thread.js", import.meta.url),
      log: (message) => void logged.push(message),
    });
    try {
      assert.equal(RestartingThread.running.size, before + 2, "a thread and a session each");
      assert.equal(backend.depth, 2, "a batch for each thread, none waiting behind another");
      const good = await backend.scorePacked(packed(GOOD));
      // The second goes to the other thread, not behind the first (one thread: both fail, above).
      const [dying, beside] = [backend.scorePacked(packed(POISON)), backend.scorePacked(packed(GOOD))];
      await assert.rejects(dying, /inference thread exited \(code 7\)/);
      assert.deepEqual((await beside).scores, good.scores);
      assert.equal(backend.ready, true, "the other thread serves while the dead one is replaced");
      assert.deepEqual((await backend.scorePacked(packed(GOOD))).scores, good.scores);
      assert.deepEqual(logged, ["the inference thread stopped; starting another in its place"]);
    } finally {
      await backend.close();
    }
    assert.equal(RestartingThread.running.size, before, "both closed");
  });

  it("a new thread that cannot load the model: not ready, batches fail at once, tried again with backoff until it loads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-onnx-restart-"));
    const path = join(dir, "model.onnx");
    copyFileSync(onnxPath, path);
    const logged: string[] = [];
    const backend = await ThreadedOnnxBackend.load(path, 3, runtime, undefined, {
      log: (message) => void logged.push(message),
      backoff: { initialMs: 200, maxMs: 400 },
    });
    const thread = [...RestartingThread.running].find((t) => t.name === "the inference thread");
    try {
      assert.ok(thread);
      writeFileSync(path, "not a model any more");
      await thread.exitForTest();
      const deadline = Date.now() + 10_000;
      while (thread.failedStarts === 0 && Date.now() < deadline) await sleep(20);
      assert.equal(backend.ready, false);
      const started = performance.now();
      await assert.rejects(backend.scorePacked(packed(GOOD)), (e) => {
        assert.ok(e instanceof InferenceError);
        assert.match(
          e.message,
          /the inference thread is not running: a new one could not load \(cannot load the ONNX model/,
        );
        return true;
      });
      assert.ok(performance.now() - started < 150, "refused at once, not after the backoff");
      await sleep(1500);
      // 1.5 s at 100–400 ms apart (and a load each): a handful of attempts, not a spin.
      assert.ok(thread.failedStarts >= 2 && thread.failedStarts <= 10, `${thread.failedStarts} attempts`);
      copyFileSync(onnxPath, path);
      while (!backend.ready && Date.now() < deadline + 5000) await sleep(20);
      assert.equal(backend.ready, true, "a new thread loaded once the model could be");
      assert.equal((await backend.scorePacked(packed(GOOD))).scores.length, 3);
      assert.deepEqual(logged, [
        "the inference thread stopped; starting another in its place",
        "the inference thread could not be started again; trying again with backoff",
        "the inference thread runs again",
      ]);
    } finally {
      await backend.close();
    }
    assert.equal(RestartingThread.running.has(thread as never), false);
  });

  it("the tokenizer thread too: when it exits, the next texts are encoded by a new one", async () => {
    const logged: string[] = [];
    const threaded = await ThreadedTokenizer.start(join(TINY_MODEL_DIR, "tokenizer.json"), parity.maxLength, {
      log: (message) => void logged.push(message),
    });
    try {
      const texts = parity.items.slice(0, 8).map((item) => item.text);
      const before = await threaded.encodePacked(texts);
      const thread = [...RestartingThread.running].find((t) => t.name === "the tokenizer thread");
      assert.ok(thread);
      await thread.exitForTest();
      assert.deepEqual(await threaded.encodePacked(texts), before);
      assert.equal(threaded.ready, true);
      assert.deepEqual(logged, ["the tokenizer thread stopped; starting another in its place"]);
    } finally {
      await threaded.close();
    }
  });
});
