/**
 * kafkajs 2.2.4's request framing (`protocol/request.js`: the size, API key and version,
 * correlation id and client id before every request's payload), writing the frame and the payload
 * into one buffer. kafkajs's copies the payload into an Encoder for the header, and that into
 * another for the size, each a new zeroed buffer: two more passes over every produce request's
 * bytes on the main thread. Same bytes (test/unit/kafka-fixes.test.ts); it replaces kafkajs's in
 * the module cache (see kafkajs.ts), before `network/connection.js` loads.
 */
import { checkEncoder, encoderOf, type KafkaEncoder, stringLength, writeString } from "./kafka-encoder.js";

export interface RequestToFrame {
  correlationId: number;
  clientId: string | null | undefined;
  request: { apiKey: number; apiVersion: number; encode(): Promise<unknown> | unknown };
}

export async function createRequest({
  correlationId,
  clientId,
  request: { apiKey, apiVersion, encode },
}: RequestToFrame): Promise<KafkaEncoder> {
  const payload = await encode();
  checkEncoder(payload);
  const body = payload.buffer;
  const clientIdLength = stringLength(clientId);
  // API key, version, correlation id, client id, payload
  const size = 2 + 2 + 4 + 2 + Math.max(clientIdLength, 0) + body.length;
  const buf = Buffer.allocUnsafe(4 + size);
  let offset = buf.writeInt32BE(size, 0);
  offset = buf.writeInt16BE(apiKey, offset);
  offset = buf.writeInt16BE(apiVersion, offset);
  offset = buf.writeInt32BE(correlationId, offset);
  offset = writeString(buf, offset, clientId, clientIdLength);
  offset += body.copy(buf, offset);
  if (offset !== buf.length) throw new Error(`request: wrote ${offset} bytes of ${buf.length}`);
  return encoderOf(buf);
}
