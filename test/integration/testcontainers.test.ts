/**
 * `sentiment-worker/testcontainers` used as a user's test suite would: Kafka, Redis and the worker
 * each in a container started by Testcontainers on one network, posts in, events out exactly once,
 * and the worker's container stopped and started again in the middle with nothing lost or doubled.
 * Skips, saying how to enable it, when no container engine answers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SentimentWorkerContainer, type StartedSentimentWorkerContainer } from "sentiment-worker/testcontainers";
import { getContainerRuntimeClient, Network, type StartedNetwork } from "testcontainers";
import {
  containerSkipReason,
  LOCAL_IMAGES,
  type StartedKafka,
  type StartedRedis,
  startKafka,
  startRedis,
  TEST_LABEL,
} from "../helpers/containers.js";
import { TINY_MODEL_DIR } from "../helpers/fixtures.js";
import { KafkaTestClient } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { idCounts, tally, waitForRecords } from "../helpers/worker-setup.js";

const skip = await containerSkipReason();
if (skip) process.stderr.write(`testcontainers: skipped: ${skip}\n`);

const posts = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: `${prefix}-${i}`,
    value: JSON.stringify({ id: `${prefix}-${i}`, text: `${prefix} post ${i}: the service was fine` }),
  }));

// Skipped as a test (not a suite), so the runner's summary counts it among the skipped.
if (skip) it("SentimentWorkerContainer", { skip }, () => {});
else
  describe("SentimentWorkerContainer", () => {
    let network: StartedNetwork;
    let kafka: StartedKafka;
    let redis: StartedRedis;
    let client: KafkaTestClient;
    let worker: StartedSentimentWorkerContainer | undefined;
    let input: string;
    let output: string;
    const groupId = uniqueName("tc-group");

    before(async () => {
      network = await new Network().start();
      [kafka, redis] = await Promise.all([startKafka({ network }), startRedis({ network })]);
      client = new KafkaTestClient(kafka.brokers);
      await client.connect();
      input = await client.createTopic("tc-in", 3);
      output = await client.createTopic("tc-out", 3);
    });
    after(async () => {
      await worker?.stop({ timeout: 0 }).catch(() => {});
      await client?.close();
      await Promise.all([kafka?.container.stop(), redis?.container.stop()]);
      await network?.stop();
    });

    it("starts ready and reports its effective settings", async () => {
      const container = new SentimentWorkerContainer(LOCAL_IMAGES.worker)
        .withNetwork(network)
        .withKafka(kafka.networkBrokers, { inputTopics: [input], groupId })
        .withRedis(redis.networkUrl)
        .withModel(TINY_MODEL_DIR)
        .withConfig({ kafka: { outputTopic: output, createTopics: true }, batching: { maxBatchSize: 8 } })
        .withLabels(TEST_LABEL);
      assert.equal(container.getEnvironment().SW_BATCHING_MAX_BATCH_SIZE, "8");
      worker = await container.start();

      const settings = (await worker.getSettings()) as {
        kafka: { brokers: string[]; inputTopics: string[]; outputTopic: string; groupId: string };
        batching: { maxBatchSize: number };
        model: { dir: string };
        input: { source: string };
      };
      assert.deepEqual(settings.kafka.brokers, ["kafka:9092"]);
      assert.deepEqual(settings.kafka.inputTopics, [input]);
      assert.equal(settings.kafka.outputTopic, output);
      assert.equal(settings.kafka.groupId, groupId);
      assert.equal(settings.batching.maxBatchSize, 8);
      assert.equal(settings.model.dir, "/models");
      assert.equal(settings.input.source, "kafka");
      assert.equal((await fetch(worker.getHttpUrl("/readyz"))).status, 200);
      assert.match(await (await fetch(worker.getMetricsUrl())).text(), /^# HELP /m);
    });

    it("tags every post exactly once across a stop and start of its container", async () => {
      assert.ok(worker, "the worker started");
      const first = posts("before", 60);
      const during = posts("during", 150);
      const last = posts("after", 60);

      await client.produce(input, first);
      await waitForRecords(client, output, first.length, 90_000);
      // Posts arrive while the worker is stopped (SIGTERM: it commits its chunk in flight) and started.
      const startedAt = async () => {
        const runtime = await getContainerRuntimeClient();
        return (await runtime.container.inspect(runtime.container.getById(worker?.getId() ?? ""))).State.StartedAt;
      };
      const firstStart = await startedAt();
      await client.produce(input, during.slice(0, 75));
      const restarting = worker.restart();
      await sleep(200);
      await client.produce(input, during.slice(75));
      await restarting;
      assert.notEqual(await startedAt(), firstStart, "the same container was started again");
      assert.equal((await fetch(worker.getHttpUrl("/readyz"))).status, 200, "ready again on its new port");
      await client.produce(input, last);

      const expected = [...first, ...during, ...last].map((p) => p.key);
      const records = await client.readAll(output, { count: expected.length, quietMs: 4000, timeoutMs: 120_000 });
      const { doubled, missing } = tally(idCounts(records), expected);
      assert.deepEqual({ doubled, missing }, { doubled: [], missing: [] });
      assert.equal(records.length, expected.length);
    });
  });
