/**
 * The batcher's metrics on /metrics: what a real DynamicBatcher reports at each cut (reason, each
 * message's queue wait, what is left queued) as WorkerMetrics exports it in the Prometheus format.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { type BatchItem, DynamicBatcher } from "../../src/inference/batcher.js";
import { WorkerMetrics } from "../../src/telemetry/metrics.js";
import { parseMetrics } from "../helpers/prometheus.js";

interface Item extends BatchItem {
  id: number;
}

async function scrape(metrics: WorkerMetrics): Promise<Map<string, number>> {
  const server = createServer((request, response) => metrics.serve(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  } finally {
    server.close();
  }
}

describe("the batcher's metrics", () => {
  it("exports cuts by reason, each message's queue wait in seconds and the queue depth", async () => {
    const metrics = new WorkerMetrics({ resource: resourceFromAttributes({ "service.name": "test" }) });
    let clock = 0;
    let release: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      release = resolve;
    });
    const batcher = new DynamicBatcher<Item, Item[], number>(
      {
        prepare: (items) => [...items],
        // The first batch holds the model until released, so the next ones queue up behind it.
        run: async (items) => {
          await running;
          return items.map((i) => i.id);
        },
      },
      { maxBatchSize: 2, maxBatchTokens: 512, maxWaitMs: 60_000, queueCapacity: 100 },
      { onBatch: (stats) => metrics.recordBatch(stats), now: () => clock },
    );
    try {
      const all = [1, 2, 3, 4, 5].map((id) => batcher.submit({ id, tokens: 10 }));
      await sleep(0);
      // Cut at once by size: [1, 2] runs, [3, 4] is prepared ahead, 5 waits.
      let seen = await scrape(metrics);
      assert.equal(seen.get('sw_batch_cuts_total{reason="size"}'), 2);
      assert.equal(seen.get("sw_inference_queue_wait_seconds_count"), 4);
      assert.equal(seen.get("sw_inference_queue_wait_seconds_sum"), 0, "cut the moment they came");
      assert.equal(seen.get("sw_inference_queue_depth"), 1, "item 5 still queued");

      clock = 250; // item 5 waited 250 ms when the batcher closes
      release();
      const closing = batcher.close();
      assert.deepEqual(await Promise.all(all), [1, 2, 3, 4, 5]);
      await closing;
      seen = await scrape(metrics);
      assert.equal(seen.get('sw_batch_cuts_total{reason="size"}'), 2);
      assert.equal(seen.get('sw_batch_cuts_total{reason="close"}'), 1);
      assert.equal(seen.get("sw_inference_queue_wait_seconds_count"), 5);
      assert.equal(seen.get("sw_inference_queue_wait_seconds_sum"), 0.25);
      assert.equal(seen.get('sw_inference_queue_wait_seconds_bucket{le="0.1"}'), 4);
      assert.equal(seen.get('sw_inference_queue_wait_seconds_bucket{le="0.25"}'), 5);
      assert.equal(seen.get("sw_inference_queue_depth"), 0);
    } finally {
      await batcher.close();
      await metrics.shutdown();
    }
  });
});

describe("the readiness metrics", () => {
  it("export sw_ready and each check apart, so an alert can name the failing one", async () => {
    const metrics = new WorkerMetrics({ resource: resourceFromAttributes({ "service.name": "test" }) });
    try {
      let seen = await scrape(metrics);
      assert.equal(seen.get("sw_ready"), 0, "not ready before any check is set");
      const checks = { model: true, consumer: true, redis: true };
      metrics.setReadiness(() => checks);
      seen = await scrape(metrics);
      assert.equal(seen.get("sw_ready"), 1);
      assert.equal(seen.get('sw_ready_check{check="redis"}'), 1);
      checks.redis = false;
      seen = await scrape(metrics);
      assert.equal(seen.get("sw_ready"), 0);
      assert.equal(seen.get('sw_ready_check{check="redis"}'), 0);
      assert.equal(seen.get('sw_ready_check{check="model"}'), 1);
      assert.equal(seen.get('sw_ready_check{check="consumer"}'), 1);
    } finally {
      await metrics.shutdown();
    }
  });
});
