/**
 * The per-message work of a chunk, in two steps around what only the main thread does (claiming
 * ids in Redis, queuing the model, committing): `prepare` decodes the records, makes their ids and
 * encodes the texts of the messages; `build` makes and serialises the events of the messages that
 * were tagged. Both run where the chunk was prepared — on a processing thread (`thread-pool.ts`), or
 * in the process (`in-process.ts`) — and the state between them stays there; the main thread sees
 * typed arrays and the few strings it needs (ids, text hashes).
 */
import type { Config } from "../../config/index.js";
import { textHash } from "../../dedup/result-cache.js";
import type { DeadLetterCode } from "../../events/dead-letter.js";
import { AvroEventWriter } from "../../events/sentiment-avro.js";
import type { ModelIdentity } from "../../events/sentiment-event.js";
import { serializeEvent } from "../../events/serialize-event.js";
import { classifiedRow } from "../../inference/packed.js";
import type { DetectLanguage } from "../../language/event-language.js";
import type { Identified } from "../../language/identify.js";
import type { ChunkSchemas } from "../../schema-registry/schema-cache.js";
import type { ChunkClassifier, Classified, CommittedTag, PackedEncodings } from "../ports.js";
import type { EventKind } from "../run-counters.js";
import { buildChunk } from "../stages/build-chunk.js";
import { decodeChunk } from "../stages/decode-chunk.js";
import { type ChunkItem, type ChunkPartition, type ChunkRecord, isMessage, type MessageItem } from "../stages/items.js";

/** A record that cannot be an event (its dead letter is made where its headers are: the main thread). */
export interface DeadRecord {
  /** Its index in the chunk. */
  index: number;
  code: DeadLetterCode;
  message: string;
}

/** What the main thread learns of a prepared chunk. */
export interface Prepared {
  /** The chunk index of each message to tag, ascending: message `m` is record `messageRecords[m]`. */
  messageRecords: Int32Array;
  /** Per message: its id. */
  ids: string[];
  /** Per message: the hash of its normalised text (result-cache key); empty unless asked for. */
  hashes: string[];
  /** Per message: its text's encoding for the chunk's model. */
  encodings: PackedEncodings;
  /** Ascending by index. */
  dead: DeadRecord[];
  tombstones: number;
  /** Messages whose language field was not a language tag (ignored). */
  langIgnored: number;
}

/** The events to make: the tagged messages and their results. */
export interface BuildRequest {
  /** Message indexes (of `Prepared`'s per-message arrays), ascending. */
  tagged: Int32Array;
  /** Per tagged message: every label's probability, in `labels` order. */
  scores: Float64Array;
  /** Per tagged message. */
  truncated: Uint8Array;
  /** Per tagged message. */
  tokens: Int32Array;
  model: ModelIdentity;
  labels: string[];
  detectLanguage: DetectLanguage;
  /** Milliseconds since the epoch: the events' `processedAt`. */
  processedAt: number;
  /** Keep each event with its text (a shadow model compares them). */
  keepTags: boolean;
  /** `output.format: avro`: the registry's id of the event schema, for the wire-format header; absent: JSON. */
  avroSchemaId?: number;
}

/** The events made, one per tagged message, in the order of `tagged`. */
export interface Built {
  /** Every event's serialised value, back to back: event `e` is `values[starts[e], starts[e + 1])`. */
  values: Uint8Array;
  starts: Int32Array;
  /** The languages and labels of the events, each once; event `e`'s is `kinds[kindOf[e]]`. */
  kinds: EventKind[];
  kindOf: Uint16Array;
  /** Per event: its source time in ms, NaN when it has none (for the latency once committed). */
  timestamps: Float64Array;
  /** Per event, when asked for (`keepTags`): it with its text. */
  tags: CommittedTag[];
}

export interface PreparedChunk extends Prepared {
  build(request: BuildRequest): Promise<Built>;
  /** Forgets the chunk where it was prepared (after its build, or when it is abandoned). */
  release(): void;
}

/** The chunk's model as `prepare` needs it: its tokenizer. */
export type ChunkModel = Pick<ChunkClassifier, "encodePacked"> & {
  readonly model: { readonly tokenizerPath: string; readonly maxLength: number };
};

export interface PrepareOptions {
  /** Hash the texts for the result cache. */
  hashes: boolean;
  /** The schemas of the records' ids (registry formats), looked up before (`stages/resolve-schemas.ts`). */
  schemas?: ChunkSchemas;
}

/** Where chunks are prepared and built. */
export interface ChunkWork {
  prepare(
    partition: ChunkPartition,
    records: readonly ChunkRecord[],
    model: ChunkModel,
    options: PrepareOptions,
  ): Promise<PreparedChunk>;
  close(): Promise<void>;
}

/** A chunk between its two steps, where it was prepared. */
export class ChunkState {
  readonly items: ChunkItem[];
  readonly messages: MessageItem[];

  constructor(
    partition: ChunkPartition,
    records: readonly ChunkRecord[],
    input: Config["input"],
    schemas?: ChunkSchemas,
  ) {
    this.items = decodeChunk(partition, records, input, schemas);
    this.messages = [];
    for (const item of this.items) if (isMessage(item)) this.messages.push(item);
  }

  texts(): string[] {
    return this.messages.map((m) => m.decoded.text);
  }

  /** What the main thread learns (with the encodings made from `texts()`). */
  prepared(encodings: PackedEncodings, options: PrepareOptions): Prepared {
    const messageRecords = new Int32Array(this.messages.length);
    const dead: DeadRecord[] = [];
    let tombstones = 0;
    let langIgnored = 0;
    let m = 0;
    for (const [index, { decoded }] of this.items.entries()) {
      if (decoded.kind === "message") {
        messageRecords[m++] = index;
        if (decoded.langIgnored) langIgnored++;
      } else if (decoded.kind === "dead") dead.push({ index, code: decoded.code, message: decoded.message });
      else tombstones++;
    }
    return {
      messageRecords,
      ids: this.messages.map((item) => item.decoded.id),
      hashes: options.hashes ? this.messages.map((item) => textHash(item.decoded.text)) : [],
      encodings,
      dead,
      tombstones,
      langIgnored,
    };
  }

  /** The events of the tagged messages; `identify`: languages identified elsewhere (default: here). */
  build(request: BuildRequest, identify?: (text: string) => Identified): Built {
    const { labels } = request;
    const tagged: MessageItem[] = [];
    const results = new Map<MessageItem, Classified>();
    for (const [t, m] of request.tagged.entries()) {
      const item = this.messages[m] as MessageItem;
      tagged.push(item);
      results.set(
        item,
        classifiedRow(request.scores, t, labels, request.truncated[t] === 1, request.tokens[t] as number),
      );
    }
    const { avroSchemaId } = request;
    const built = buildChunk(tagged, results, {
      model: request.model,
      detectLanguage: request.detectLanguage,
      identify,
      processedAt: new Date(request.processedAt),
      format: {
        event: (event): string | Uint8Array =>
          avroSchemaId === undefined ? serializeEvent(event) : avroEvent(avroSchemaId, event),
        // Only messages are built here: dead letters are made where the records' headers are.
        deadLetter: () => "",
        bytes: () => 0,
        maxEventBytes: Number.POSITIVE_INFINITY,
      },
      keepTags: request.keepTags,
    });
    const { values, starts } = packStrings(built.events);
    const kinds = new Map<string, number>();
    const distinct: EventKind[] = [];
    const kindOf = new Uint16Array(tagged.length);
    const timestamps = new Float64Array(tagged.length);
    for (const [e, kind] of built.eventKinds.entries()) {
      const key = `${kind.lang}\u0000${kind.label}`;
      let k = kinds.get(key);
      if (k === undefined) {
        k = distinct.push(kind) - 1;
        kinds.set(key, k);
      }
      kindOf[e] = k;
      const { record, source } = tagged[e] as MessageItem;
      const time = Number(record.timestamp);
      timestamps[e] = source.timestamp !== "" && time > 0 ? time : Number.NaN;
    }
    return { values, starts, kinds: distinct, kindOf, timestamps, tags: built.tags };
  }
}

/** The Avro writer of this thread, made on first use. */
let avroWriter: AvroEventWriter | undefined;

/** An event in Confluent's wire format: zero byte, the schema's id, the Avro bytes. */
function avroEvent(schemaId: number, event: Parameters<AvroEventWriter["toBuffer"]>[0]): Uint8Array {
  avroWriter ??= new AvroEventWriter();
  const body = avroWriter.toBuffer(event);
  const value = Buffer.allocUnsafe(5 + body.length);
  value[0] = 0;
  value.writeUInt32BE(schemaId, 1);
  body.copy(value, 5);
  return value;
}

/** Values (UTF-8 strings or bytes) back to back in one buffer of its own (so it can be transferred). */
export function packStrings(strings: readonly (string | Uint8Array)[]): { values: Uint8Array; starts: Int32Array } {
  const starts = new Int32Array(strings.length + 1);
  for (let i = 0; i < strings.length; i++) {
    const value = strings[i] as string | Uint8Array;
    starts[i + 1] =
      (starts[i] as number) + (typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length);
  }
  // Not from Buffer's shared pool: the whole ArrayBuffer is ours to transfer.
  const values = Buffer.allocUnsafeSlow(starts[strings.length] as number);
  for (let i = 0; i < strings.length; i++) {
    const value = strings[i] as string | Uint8Array;
    if (typeof value === "string") values.write(value, starts[i] as number, "utf8");
    else values.set(value, starts[i] as number);
  }
  return { values, starts };
}
