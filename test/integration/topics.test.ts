import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Admin } from "kafkajs";
import { ConfigError } from "../../src/errors/errors.js";
import { Kafka, logLevel } from "../../src/kafka/kafkajs.js";
import { createTopics, ensureTopics } from "../../src/kafka/topics.js";
import { uniqueName } from "../helpers/names.js";
import { type TestServices, testServices } from "../helpers/services.js";

let services: TestServices;
let admin: Admin;

before(async () => {
  services = await testServices();
  admin = new Kafka({ brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
});
after(async () => {
  await admin?.disconnect();
  await services?.stop();
});

describe("output topics at start-up", () => {
  it("stops with the field and the fix when a topic is missing and creation is off", async () => {
    const output = uniqueName("missing-out");
    await assert.rejects(
      ensureTopics(admin, [{ topic: output, field: "kafka.outputTopic" }], false),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems[0]?.path === "kafka.outputTopic" &&
        /does not exist: create it, or set kafka.createTopics/.test(e.problems[0]?.reason ?? ""),
    );
    assert.ok(!(await admin.listTopics()).includes(output), "nothing was created");
  });

  it("creates missing topics when kafka.createTopics is on, and accepts existing ones", async () => {
    const [output, dlq] = [uniqueName("out"), uniqueName("dlq")];
    await createTopics(admin, [{ topic: output }]);
    const required = [
      { topic: output, field: "kafka.outputTopic" },
      { topic: dlq, field: "kafka.deadLetterTopic" },
    ];
    await ensureTopics(admin, required, true);
    const topics = await admin.listTopics();
    assert.ok(topics.includes(output) && topics.includes(dlq));
    await ensureTopics(admin, required, false);
  });
});
