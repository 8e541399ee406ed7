/**
 * `run` on its embedded default: records from a file or stdin → decode → de-duplicate in memory →
 * batched inference → `sentiment.v1` events in input order on stdout (or a file); bad records as
 * dead letters on stderr (or a file). No broker needed.
 */
import type { Config } from "../config/index.js";
import { fileRecords, maxLineBytes } from "../consumers/file-source.js";
import { MemoryDeduplicator } from "../dedup/memory-dedup.js";
import type { DeadLetter } from "../events/dead-letter.js";
import type { SentimentEvent } from "../events/sentiment-event.js";
import type { SentimentClassifier } from "../inference/classifier.js";
import { JsonLinesSink } from "../sinks/jsonl-sink.js";
import { buildEvent } from "./build-event.js";
import { decodeRecord } from "./decode.js";
import { InOrder } from "./in-order.js";
import { eventKind, RunCounters } from "./run-counters.js";

export async function runFilePipeline(config: Config, classifier: SentimentClassifier): Promise<RunCounters> {
  const counters = new RunCounters();
  const events = JsonLinesSink.open(config.output.path);
  const deadLetters = JsonLinesSink.open(config.output.deadLetterPath);
  const dedup = config.dedup.enabled
    ? new MemoryDeduplicator(config.dedup.ttlSeconds * 1000, { maxBytes: config.dedup.memoryMaxBytes })
    : undefined;
  // Two batches' worth in flight keeps the model busy while earlier events are written.
  const output = new InOrder<SentimentEvent | DeadLetter | null>(async (item) => {
    if (item === null) return;
    if ("schema" in item) {
      await events.write(item);
      counters.countEvents([eventKind(item)]);
    } else {
      await deadLetters.write({ deadLetter: item });
    }
  }, config.batching.queueCapacity);

  try {
    for await (const line of fileRecords(config.input.path, maxLineBytes(config.input.maxTextBytes))) {
      counters.records++;
      if (line.kind === "dead") {
        counters.deadLetter(line.deadLetter.code);
        await output.push(Promise.resolve(line.deadLetter));
        continue;
      }
      const { record } = line;
      const decoded = decodeRecord(record, config.input);
      if (decoded.kind === "tombstone") {
        counters.tombstones++;
        continue;
      }
      if (decoded.kind === "dead") {
        counters.deadLetter(decoded.code);
        await output.push(Promise.resolve({ code: decoded.code, message: decoded.message, source: record.source }));
        continue;
      }
      if (decoded.langIgnored) counters.inputLangIgnored++;
      if (dedup && !(await dedup.claim([decoded.id]))[0]) {
        counters.duplicates++;
        continue;
      }
      // Tokenized off the event loop, queued once there is room; the in-order writer bounds how many wait.
      const result = classifier.classify(decoded.text);
      await output.push(
        result.then((r) =>
          buildEvent(decoded, record.source, r, classifier.model, new Date(), config.input.detectLanguage),
        ),
      );
    }
    await output.flush();
  } finally {
    await Promise.all([events.close(), deadLetters.close(), dedup?.close()]);
  }
  return counters;
}
