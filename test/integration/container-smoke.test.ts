/**
 * The worker's image, as CI builds it (`node scripts/containers.mjs build`): non-root on a
 * read-only root filesystem, `--version`, `run` on a JSONL file with the tiny model mounted, the
 * live worker on a test broker (exactly once, /readyz, SIGTERM within the grace period) and its
 * HEALTHCHECK. Skips, saying how to enable it, when no container engine answers.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  getContainerRuntimeClient,
  ImageName,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import {
  SentimentWorkerContainer,
  STOP_GRACE_MS,
  type StartedSentimentWorkerContainer,
} from "../../src/testcontainers/index.js";
import {
  containerSkipReason,
  LOCAL_IMAGES,
  type StartedKafka,
  type StartedRedis,
  startKafka,
  startRedis,
  TEST_LABEL,
} from "../helpers/containers.js";
import { REPO_ROOT, TINY_MODEL_DIR } from "../helpers/fixtures.js";
import { KafkaTestClient } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { CLI, idCounts } from "../helpers/worker-setup.js";

const skip = await containerSkipReason();
if (skip) process.stderr.write(`container-smoke: skipped: ${skip}\n`);

interface FileEvent {
  id: string;
  sentiment: { label: string; scores: Record<string, number> };
}

/** The JSON lines of a text, parsed (ONNX Runtime's own warnings on stderr are not JSON). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Skipped as a test (not a suite), so the runner's summary counts it among the skipped.
if (skip) it("the container image", { skip }, () => {});
else
  describe("the container image", () => {
    // The image with its entry point replaced by a sleep, for commands run with exec: same user, same
    // read-only root filesystem, same mounts as the worker has.
    let idle: StartedTestContainer;

    before(async () => {
      idle = await new SentimentWorkerContainer(LOCAL_IMAGES.worker)
        .withModel(TINY_MODEL_DIR)
        .withBindMounts([{ source: join(REPO_ROOT, "examples"), target: "/data", mode: "ro" }])
        .withEntrypoint(["/usr/bin/tini", "--", "sleep", "infinity"])
        .withWaitStrategy(Wait.forSuccessfulCommand("true"))
        .withLabels(TEST_LABEL)
        .start();
    });
    after(async () => {
      await idle?.stop({ timeout: 0 });
    });

    it("runs as uid 10001 with only its volumes writable", async () => {
      assert.equal((await idle.exec(["id", "-u"])).stdout.trim(), "10001");
      const root = await idle.exec(["sh", "-c", "touch /app/probe"]);
      assert.notEqual(root.exitCode, 0);
      assert.match(root.output, /Read-only file system/);
      for (const dir of ["/tmp", "/var/cache/sentiment-worker"]) {
        assert.equal((await idle.exec(["touch", `${dir}/probe`])).exitCode, 0, `${dir} is writable`);
      }
    });

    it("prints its version through the image's entry point", async () => {
      const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
      // The entry point the image declares (tini, then the command), as `docker run IMAGE --version`
      // runs it; exec rather than a one-shot container, which podman's API cannot wait for.
      const runtime = await getContainerRuntimeClient();
      const image = await runtime.image.inspect(ImageName.fromString(LOCAL_IMAGES.worker));
      const entrypoint = image.Config.Entrypoint ?? [];
      assert.deepEqual(entrypoint, ["/usr/bin/tini", "--", "sentiment-worker"]);
      const result = await idle.exec([...entrypoint, "--version"]);
      assert.equal(result.exitCode, 0, result.output);
      assert.equal(result.stdout.trim(), version);
    });

    it("runs the Node major that .node-version and engines name", async () => {
      const major = readFileSync(join(REPO_ROOT, ".node-version"), "utf8").trim().split(".")[0];
      const result = await idle.exec(["node", "--version"]);
      assert.equal(result.exitCode, 0, result.output);
      assert.match(result.stdout.trim(), new RegExp(`^v${major}\\.\\d+\\.\\d+$`));
    });

    it("tags a JSONL file with the mounted model as the host does: 8 events, 1 dead letter", async () => {
      const args = ["run", "--input.source", "file", "--input.path", "/data/posts.jsonl"];
      const inside = await idle.exec(["sentiment-worker", ...args]);
      assert.equal(inside.exitCode, 0, inside.stderr);
      const events = jsonLines(inside.stdout) as unknown as FileEvent[];
      assert.deepEqual(
        events.map((e) => e.id),
        ["demo-1", "demo-2", "demo-3", "demo-4", "demo-5", "demo-6", "demo-7", "demo-8"],
      );
      const stderr = jsonLines(inside.stderr);
      const deadLetters = stderr.filter((l) => "deadLetter" in l) as { deadLetter: { code: string } }[];
      assert.deepEqual(
        deadLetters.map((d) => d.deadLetter.code),
        ["EMPTY_TEXT"],
      );
      const summary = stderr.find((l) => "summary" in l) as { summary: Record<string, number> } | undefined;
      assert.equal(summary?.summary.events, 8);
      assert.equal(summary?.summary.duplicatesSkipped, 1);

      // The same model on the host: the image's ONNX Runtime must give the same scores.
      const host = spawnSync(
        process.execPath,
        [CLI, "run", "--input.path", join(REPO_ROOT, "examples/posts.jsonl"), "--model.dir", TINY_MODEL_DIR],
        { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } },
      );
      assert.equal(host.status, 0, host.stderr);
      const hostEvents = jsonLines(host.stdout) as unknown as FileEvent[];
      for (const [i, event] of events.entries()) {
        const expected = hostEvents[i];
        assert.equal(event.sentiment.label, expected?.sentiment.label);
        for (const [label, p] of Object.entries(event.sentiment.scores)) {
          assert.ok(Math.abs(p - (expected?.sentiment.scores[label] ?? Number.NaN)) < 1e-5, `${event.id} ${label}`);
        }
      }
    });

    describe("the live worker on Kafka", () => {
      let network: StartedNetwork;
      let kafka: StartedKafka;
      let redis: StartedRedis;
      let client: KafkaTestClient;
      let worker: StartedSentimentWorkerContainer | undefined;
      const topics = { input: "", output: "", dlq: "" };
      const ids = Array.from({ length: 40 }, (_, i) => `smoke-${i}`);

      before(async () => {
        network = await new Network().start();
        [kafka, redis] = await Promise.all([startKafka({ network }), startRedis({ network })]);
        client = new KafkaTestClient(kafka.brokers);
        await client.connect();
        topics.input = await client.createTopic("smoke-in", 3);
        topics.output = await client.createTopic("smoke-out", 3);
        topics.dlq = await client.createTopic("smoke-dlq", 1);
        // 40 posts, a repeat of one of them (de-duplicated) and two bad records (dead letters).
        await client.produce(topics.input, [
          ...ids.map((id, i) => ({ key: id, value: JSON.stringify({ id, text: `post number ${i}, rather nice` }) })),
          { key: "smoke-3", value: JSON.stringify({ id: "smoke-3", text: "post number 3, rather nice" }) },
          { key: "bad-1", value: JSON.stringify({ id: "bad-1", text: "" }) },
          { key: "bad-2", value: "{not json" },
        ]);
      });
      after(async () => {
        await worker?.stop({ timeout: 0 }).catch(() => {});
        await client?.close();
        await Promise.all([kafka?.container.stop(), redis?.container.stop()]);
        await network?.stop();
      });

      it("goes ready, tags the topic exactly once, and passes its HEALTHCHECK", async () => {
        worker = await new SentimentWorkerContainer(LOCAL_IMAGES.worker)
          .withNetwork(network)
          .withKafka(kafka.networkBrokers, { inputTopics: [topics.input], groupId: uniqueName("smoke") })
          .withRedis(redis.networkUrl)
          .withModel(TINY_MODEL_DIR)
          .withConfig({ kafka: { outputTopic: topics.output, deadLetterTopic: topics.dlq } })
          .withLabels(TEST_LABEL)
          .start();
        // start() resolved on /readyz 200; it stays so.
        assert.equal((await fetch(worker.getHttpUrl("/readyz"))).status, 200);

        const events = await client.readAll(topics.output, { count: ids.length, quietMs: 3000 });
        const counts = idCounts(events);
        assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
        assert.ok(
          [...counts.values()].every((n) => n === 1),
          "each post tagged exactly once",
        );
        const deadLetters = await client.readAll(topics.dlq, { count: 2, quietMs: 1000 });
        assert.deepEqual(deadLetters.map((d) => d.key).sort(), ["bad-1", "bad-2"]);
        assert.match(await (await fetch(worker.getMetricsUrl())).text(), /sw_/);

        // The image's own HEALTHCHECK command, run in the container; the engine's scheduler for it
        // (systemd timers, for podman) is not needed to prove that the command itself works.
        const runtime = await getContainerRuntimeClient();
        const image = await runtime.container.inspect(runtime.container.getById(worker.getId()));
        const check = image.Config.Healthcheck?.Test ?? [];
        assert.equal(check[0], "CMD", "the image keeps its HEALTHCHECK (built with --format docker)");
        assert.equal((await worker.exec(check.slice(1))).exitCode, 0);
        // …and it fails when nothing answers on the port it checks.
        assert.equal((await worker.exec(check.slice(1), { env: { SW_TELEMETRY_HTTP_PORT: "1" } })).exitCode, 1);
      });

      it("exits 0 on SIGTERM well within the grace period", async () => {
        assert.ok(worker, "the worker started");
        const runtime = await getContainerRuntimeClient();
        const handle = runtime.container.getById(worker.getId());
        const t0 = Date.now();
        await worker.stop({ remove: false });
        const elapsed = Date.now() - t0;
        const state = (await runtime.container.inspect(handle)).State;
        await runtime.container.remove(handle, { removeVolumes: true });
        worker = undefined;
        assert.equal(state.ExitCode, 0);
        assert.ok(elapsed < STOP_GRACE_MS / 2, `stopped in ${elapsed} ms`);
      });
    });
  });
