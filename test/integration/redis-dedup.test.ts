/**
 * RedisDeduplicator and ResultCache against a real Redis: claim/confirm/release semantics, one
 * round trip per call (seen with MONITOR), TTLs, pending expiry, and Redis going away and coming
 * back (a redis-server of our own on a free port, stopped and restarted by pid).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RedisDeduplicator } from "../../src/dedup/redis-dedup.js";
import type { RedisDeduplicatorOptions } from "../../src/dedup/redis-dedup-options.js";
import { normaliseText, ResultCache, textHash } from "../../src/dedup/result-cache.js";
import { DedupUnavailableError, SentimentWorkerError } from "../../src/errors/errors.js";
import { uniqueName } from "../helpers/names.js";
import { freePort, OwnRedis } from "../helpers/redis-server.js";
import { type TestServices, testServices } from "../helpers/services.js";

let services: TestServices;
let admin: Redis;
const opened: RedisDeduplicator[] = [];

before(async () => {
  services = await testServices();
  admin = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
});

after(async () => {
  await Promise.all(opened.map((d) => d.close()));
  admin?.disconnect();
  await services?.stop();
});

function dedup(options: Partial<RedisDeduplicatorOptions> = {}): RedisDeduplicator {
  const d = new RedisDeduplicator({
    redisUrl: services.redisUrl,
    keyPrefix: `${uniqueName("sw-test")}:`,
    modelRevision: "rev-a",
    ttlSeconds: 3600,
    onRedisUnavailable: "fail",
    ...options,
  });
  opened.push(d);
  return d;
}

const ids = (n: number, tag = "m") => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

describe("RedisDeduplicator claims", () => {
  it("new ids are true, again false, another model revision true again, repeats in one call false", async () => {
    const keyPrefix = `${uniqueName("sw-test")}:`;
    const a = dedup({ keyPrefix });
    const five = ids(5);
    assert.deepEqual(await a.claim(five), [true, true, true, true, true]);
    await a.confirm(five);
    assert.deepEqual(await a.claim(five), [false, false, false, false, false]);

    const b = dedup({ keyPrefix, modelRevision: "rev-b" });
    assert.deepEqual(await b.claim(five), [true, true, true, true, true]);
    assert.equal(await admin.exists(`${keyPrefix}rev-b:m-0`), 1, "key = prefix + revision + ':' + id");

    assert.deepEqual(await a.claim(["x", "y", "x", "z", "y", "x"]), [true, true, false, true, false, false]);
    assert.deepEqual(await a.claim([]), []);
  });

  it("a pending claim held by another call is taken over (a redelivery is tagged), unless it is another record", async () => {
    const keyPrefix = `${uniqueName("sw-test")}:`;
    const crashed = dedup({ keyPrefix });
    const next = dedup({ keyPrefix });
    assert.deepEqual(await crashed.claim(["r1", "r2"]), [true, true]); // then "crashes": no confirm
    assert.deepEqual(await next.claim(["r1"]), [true], "never skipped while only pending");
    assert.equal(next.counters.retaken, 1);

    assert.deepEqual(await crashed.claimDetailed(["s1"], ["topic/0/7"]), ["new"]);
    assert.deepEqual(await next.claimDetailed(["s1"], ["topic/1/3"]), ["in-flight"], "another record carries it");
    assert.deepEqual(await next.claimDetailed(["s1"], ["topic/0/7"]), ["retaken"], "the same record redelivered");
    await assert.rejects(next.claimDetailed(["a", "b"], ["one"]), SentimentWorkerError);
  });
});

describe("RedisDeduplicator round trips", () => {
  it("sends one EVALSHA for a claim of 100 ids, one for confirm and one for release", async () => {
    const d = dedup();
    // ioredis sends the first call of each script on a connection as EVAL, then EVALSHA.
    await d.claim(["warm-1", "warm-2"]);
    await d.confirm(["warm-1"]);
    await d.release(["warm-2"]);
    const prefix = d.keyOf("");
    const monitorBase = new Redis(services.redisUrl);
    const monitor = await monitorBase.monitor(); // a second connection, in MONITOR mode
    const seen: string[][] = [];
    const marker = `${prefix}__marker__`;
    let markerSeen: () => void = () => {};
    const markerArrived = new Promise<void>((resolve) => {
      markerSeen = resolve;
    });
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (args.includes(marker)) markerSeen();
      else if (source !== "lua" && args.some((a) => a.startsWith(prefix))) seen.push(args);
    });
    try {
      const hundred = ids(100);
      const claimed = await d.claim(hundred);
      assert.equal(claimed.filter(Boolean).length, 100);
      await d.confirm(hundred.slice(0, 60));
      await d.release(hundred.slice(60));
      await admin.get(marker); // MONITOR streams in execution order: after this, all of ours arrived
      await markerArrived;
    } finally {
      monitor.disconnect();
      monitorBase.disconnect();
    }
    assert.deepEqual(
      seen.map((args) => [args[0]?.toLowerCase(), args[2]]),
      [
        ["evalsha", "100"],
        ["evalsha", "60"],
        ["evalsha", "40"],
      ],
    );
    assert.equal(await admin.exists(d.keyOf("m-0")), 1);
    assert.equal(await admin.exists(d.keyOf("m-99")), 0);
  });
});

describe("RedisDeduplicator TTLs", () => {
  it("pending TTL after claim, full TTL after confirm; release deletes only keys still holding our token", async () => {
    const d = dedup({ pendingTtlSeconds: 120, ttlSeconds: 86_400 });
    const all = ids(4);
    await d.claim(all);
    const pending = await admin.ttl(d.keyOf("m-0"));
    assert.ok(pending > 110 && pending <= 120, `pending TTL ${pending}`);

    await d.confirm(["m-0"]);
    const full = await admin.ttl(d.keyOf("m-0"));
    assert.ok(full > 86_000 && full <= 86_400, `full TTL ${full}`);

    await admin.set(d.keyOf("m-1"), "p|someoneelse|", "EX", 60); // another owner took m-1 over
    await d.release(["m-0", "m-1", "m-2", "m-3"]);
    assert.equal(await admin.exists(d.keyOf("m-0")), 1, "confirmed: not ours to release any more");
    assert.equal(await admin.get(d.keyOf("m-1")), "p|someoneelse|", "the other owner is not disturbed");
    assert.equal(await admin.exists(d.keyOf("m-2")), 0);
    assert.equal(await admin.exists(d.keyOf("m-3")), 0);
    assert.equal(d.heldCount, 0);
    assert.deepEqual(await d.claim(["m-2", "m-3"]), [true, true], "released ids are claimable again");
  });

  it("a pending claim never confirmed expires and the id can be claimed again", async () => {
    const keyPrefix = `${uniqueName("sw-test")}:`;
    const crashed = dedup({ keyPrefix, pendingTtlSeconds: 1 });
    assert.deepEqual(await crashed.claim(["lost"]), [true]);
    await sleep(1_500);
    assert.equal(await admin.exists(crashed.keyOf("lost")), 0);
    const other = dedup({ keyPrefix });
    assert.deepEqual(await other.claim(["lost"]), [true]);
    assert.equal(other.counters.retaken, 0, "a plain new claim: the key had expired");
  });

  it("a confirm after the pending claim expired still records the id, counted as late", async () => {
    const d = dedup({ pendingTtlSeconds: 1 });
    await d.claim(["slow"]);
    await sleep(1_200);
    await d.confirm(["slow"]);
    assert.equal(d.counters.lateConfirms, 1);
    assert.deepEqual(await d.claim(["slow"]), [false]);
  });
});

/** Resolves with the next availability change reported by the deduplicator. */
function availability(): { onAvailabilityChange: (up: boolean) => void; next: (up: boolean) => Promise<void> } {
  const waiters: { up: boolean; resolve: () => void }[] = [];
  const changes: boolean[] = [];
  return {
    onAvailabilityChange: (up) => {
      changes.push(up);
      for (const w of waiters.filter((w) => w.up === up)) w.resolve();
    },
    next: (up) =>
      changes.at(-1) === up
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no availability change to ${up}`)), 10_000);
            waiters.push({
              up,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          }),
  };
}

describe("RedisDeduplicator with Redis unavailable", () => {
  it("fail mode: rejects fast with a retriable error, reports unhealthy, recovers when Redis is back", async () => {
    const server = new OwnRedis(await freePort());
    await server.start();
    try {
      const watch = availability();
      const d = dedup({
        redisUrl: server.url,
        onAvailabilityChange: watch.onAvailabilityChange,
        maxReconnectDelayMs: 200,
      });
      assert.deepEqual(await d.claim(["before"]), [true]);
      assert.equal(d.isHealthy, true);

      await server.stop();
      await watch.next(false);
      assert.equal(d.isHealthy, false);
      const started = Date.now();
      const err = await d.claim(["during"]).then(
        () => assert.fail("claim resolved while Redis was down"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DedupUnavailableError, String(err));
      assert.equal(err.retriable, true);
      assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
      await d.confirm(["before"]); // never rejects
      assert.equal(d.counters.failedConfirms, 1);

      await server.start();
      await watch.next(true);
      assert.equal(d.isHealthy, true);
      assert.deepEqual(await d.claim(["during", "before"]), [true, true], "fresh server, no persistence");
    } finally {
      await server.stop();
    }
  });

  it("fail mode against a closed port rejects quickly", async () => {
    const d = dedup({ redisUrl: `redis://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    await assert.rejects(d.claim(["x"]), DedupUnavailableError);
    assert.ok(Date.now() - started < 2_500, `took ${Date.now() - started} ms`);
    assert.equal(d.isHealthy, false);
  });

  it("bypass mode: all new, counted, never throws", async () => {
    const d = dedup({ redisUrl: `redis://127.0.0.1:${await freePort()}`, onRedisUnavailable: "bypass" });
    assert.deepEqual(await d.claim(["a", "b", "a"]), [true, true, true]);
    assert.deepEqual(await d.claim(["c"]), [true]);
    assert.equal(d.counters.bypassedClaims, 2);
    assert.equal(d.counters.bypassedIds, 4);
    await d.confirm(["a"]);
    await d.release(["b"]);
  });
});

describe("ResultCache", () => {
  it("normalises text, stores results with the TTL and reads them back in one MGET", async () => {
    assert.equal(normaliseText("  Cafe\u0301 \t\n  au   lait "), "Caf\u00e9 au lait");
    assert.equal(textHash("Cafe\u0301  au lait"), textHash(" Caf\u00e9 au lait\n"));
    assert.match(textHash("x"), /^[0-9a-f]{64}$/);

    const d = dedup({ resultCache: true, ttlSeconds: 600 });
    const cache = d.results;
    assert.ok(cache);
    await d.claim(["connect"]);
    const h1 = textHash("I love it");
    const h2 = textHash("Je déteste ça");
    await cache.putCached([
      { textHash: h1, result: { label: "positive", score: 0.98 } },
      { textHash: h2, result: { label: "negative", score: 0.91 } },
    ]);
    assert.deepEqual(await cache.getCached([h1, textHash("unseen"), h2]), [
      { label: "positive", score: 0.98 },
      undefined,
      { label: "negative", score: 0.91 },
    ]);
    const ttl = await admin.ttl(`${d.keyOf("").replace(/rev-a:$/, "")}result:rev-a:${h1}`);
    assert.ok(ttl > 590 && ttl <= 600, `TTL ${ttl}`);
    assert.deepEqual(await cache.getCached([]), []);

    const client = new Redis(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false });
    client.on("error", () => {});
    try {
      const down = new ResultCache(client, { keyPrefix: "x:", modelRevision: "r", ttlSeconds: 1 });
      assert.deepEqual(await down.getCached([h1]), [undefined], "a failure is a miss");
      await down.putCached([{ textHash: h1, result: 1 }]);
      assert.equal(down.errors, 2);
    } finally {
      client.disconnect();
    }
  });
});
