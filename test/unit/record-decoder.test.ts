/**
 * Our record decoder (src/kafka/record-decoder.ts): kafkajs's output, headers gathered in linear
 * time, a record's headers counted and at most HEADERS_KEPT kept. That kafkajs's own is quadratic,
 * and that ours is the one kafkajs uses, is in kafka-fixes.test.ts.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { HEADERS_KEPT } from "../../src/config/schema.js";
import { type DecodedRecord, decodeRecord } from "../../src/kafka/record-decoder.js";
import { type Header, recordBytes, recordDecoder } from "../helpers/record-bytes.js";

const require = createRequire(import.meta.url);

/** kafkajs's own record decoder, loaded afresh past the replacement in the module cache. */
function kafkajsOwn(): typeof decodeRecord {
  const path = require.resolve("kafkajs/src/protocol/recordBatch/record/v0/decoder.js");
  const ours = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as typeof decodeRecord;
  } finally {
    require.cache[path] = ours;
  }
}

const context = { firstOffset: "1000", firstTimestamp: "1700000000000", magicByte: 2, isControlBatch: false };
const decode = (headers: readonly Header[], decoder = decodeRecord) =>
  decoder(recordDecoder(recordBytes({ offsetDelta: 7, key: "k", value: "v", headers })), context);

describe("the record decoder", () => {
  it("gives what kafkajs's gives, and the header count", () => {
    const cases: Header[][] = [
      [],
      [["traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"]],
      [
        ["a", "1"],
        ["b", Buffer.from([0, 255])],
        ["a", "2"],
        ["", ""],
        ["a", null],
        ["c", null],
        ["b", "3"],
        [null, "nameless"],
        ["ключ", "значение"],
      ],
    ];
    const own = kafkajsOwn();
    for (const headers of cases) {
      const { headerCount, ...ours } = decode(headers);
      assert.equal(headerCount, headers.length);
      assert.deepEqual(ours, decode(headers, own));
    }
    const { headers, offset, key, value } = decode(cases[2] as Header[]);
    assert.equal(offset, "1007");
    assert.deepEqual([key, value], [Buffer.from("k"), Buffer.from("v")]);
    assert.deepEqual(headers, {
      a: [Buffer.from("1"), Buffer.from("2"), null],
      b: [Buffer.from([0, 255]), Buffer.from("3")],
      "": Buffer.alloc(0),
      c: null,
      null: Buffer.from("nameless"),
      ключ: Buffer.from("значение"),
    });
  });

  it("gives kafkajs's offsets and timestamps for every size of delta and base, past 2^53 too", () => {
    const own = kafkajsOwn();
    // Past 2^53 as strings: a number there is already rounded.
    const deltas = [0, 1, -1, 63, -64, 8191, 2 ** 31 - 1, -(2 ** 31), 2 ** 48 - 1, -(2 ** 48), 2 ** 48];
    const wide = [
      "562949953421313",
      "9007199254740993",
      "-9007199254740993",
      "9223372036854775807",
      "-9223372036854775808",
    ];
    // What a broker sends, and strings no broker sends (kafkajs's Long throws on some: so must ours).
    const bases = ["0", "1700000000000", "-1", "9007199254740991", "9007199254740993", "01", "-0", " 12", "1e3", ""];
    const outcome = (decode: () => DecodedRecord) => {
      try {
        const { offset, timestamp } = decode();
        return [offset, timestamp];
      } catch (error) {
        return `throws ${(error as Error).name}`;
      }
    };
    let compared = 0;
    for (const timestampDelta of [...deltas, ...wide]) {
      for (const offsetDelta of [0, 7, 2 ** 31 - 1]) {
        const record = recordBytes({ offsetDelta, timestampDelta, value: "v" });
        for (const base of bases) {
          for (const timestampType of [0, 1]) {
            const batch = { firstOffset: base, firstTimestamp: base, maxTimestamp: "5", timestampType, magicByte: 2 };
            assert.deepEqual(
              outcome(() => decodeRecord(recordDecoder(record), batch)),
              outcome(() => own(recordDecoder(record), batch)),
              `delta ${timestampDelta}, ${offsetDelta}; base ${JSON.stringify(base)}`,
            );
            compared++;
          }
        }
      }
    }
    assert.equal(compared, 16 * 3 * 10 * 2);
    const far = decodeRecord(recordDecoder(recordBytes({ timestampDelta: "-9007199254740993" })), {
      firstOffset: "9007199254740993",
      firstTimestamp: "9007199254740993",
    });
    assert.deepEqual([far.offset, far.timestamp], ["9007199254740993", "0"]);
  });

  it("keeps a header named as a property of every object (__proto__, constructor) as that header", () => {
    const headers: Header[] = [
      ["__proto__", '{"polluted":1}'],
      ["constructor", "c"],
      ["toString", "t"],
      ["__proto__", "again"],
    ];
    const decoded = decode(headers).headers;
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.ok(Object.hasOwn(decoded, "__proto__"));
    assert.deepEqual(Object.getOwnPropertyDescriptor(decoded, "__proto__")?.value, [
      Buffer.from('{"polluted":1}'),
      Buffer.from("again"),
    ]);
    assert.deepEqual([decoded.constructor, decoded.toString], [Buffer.from("c"), Buffer.from("t")]);
    assert.deepEqual(Object.keys(decoded), ["__proto__", "constructor", "toString"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // kafkajs's own takes the inherited value for an earlier one: a function no producer can write.
    assert.equal((decode(headers, kafkajsOwn()).headers.constructor as unknown as unknown[])[0], Object);
  });

  it("reads 100,000 headers, distinct or one name repeated: all counted, the first HEADERS_KEPT kept", () => {
    const n = 100_000;
    const distinct: Header[] = Array.from({ length: n }, (_, i) => [`h${i}`, i % 2 ? "" : null]);
    const record = recordBytes({ value: "after the headers?", headers: distinct });
    const decoder = recordDecoder(record);
    const decoded: DecodedRecord = decodeRecord(decoder, context);
    assert.equal(decoded.headerCount, n);
    assert.equal(decoder.offset, decoder.buffer.length, "read to the record's end");
    const names = Object.keys(decoded.headers);
    assert.equal(names.length, HEADERS_KEPT);
    assert.deepEqual([names[0], names.at(-1)], ["h0", `h${HEADERS_KEPT - 1}`]);
    assert.equal(decoded.headers.h1?.toString(), "");
    assert.equal(decoded.headers.h0, null);

    const repeated: Header[] = Array.from({ length: n }, (_, i) => ["", String(i)]);
    const same = decode(repeated);
    assert.equal(same.headerCount, n);
    const values = same.headers[""] as Buffer[];
    assert.equal(values.length, HEADERS_KEPT);
    assert.deepEqual(
      values.map(String),
      Array.from({ length: HEADERS_KEPT }, (_, i) => String(i)),
    );
  });

  it("stops at the record's end when it claims more headers than its bytes hold", () => {
    // The broker refuses such a record; still, a count alone must not make the decoder loop.
    const record = recordBytes({ headers: [["a", "1"]], claimedHeaders: 2 ** 31 - 1 });
    const decoded = decodeRecord(recordDecoder(record), context);
    assert.equal(decoded.headerCount, 1);
    assert.deepEqual(decoded.headers, { a: Buffer.from("1") });
  });
});
