/**
 * Model directories with made-up ONNX graphs, written by hand (protobuf), so neither the
 * benchmarks nor the tests need Python. Both take the real inputs and give real-shaped logits, and
 * copy the tokenizer and labels from a real model directory, so the worker loads them like any other.
 *
 * The null model does next to nothing, for the end-to-end benchmark's "plumbing alone" row: the tiny fixture is not free (about 8 MFLOP per tweet, some 2,000 tweets/s
 * on 2 cores), so only a model that costs nothing shows what Kafka, Redis, tokenizing and batching
 * cost by themselves. The graph takes the real inputs (`input_ids`, `attention_mask`, int64
 * [batch, length]) and gives `logits` [batch, 3]: ReduceSum(Cast(ids)) + ReduceSum(Cast(mask)),
 * times a [1, 3] constant. Tokenizer and labels are copied from a real model directory, so the
 * worker loads it like any other. Encoded by hand (protobuf), so the benchmark needs no Python.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// ---- a minimal protobuf writer ---------------------------------------------------------------

type Field = Uint8Array;

function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const int = (field: number, value: number): Field => Uint8Array.from([...varint(field << 3), ...varint(value)]);
function bytes(field: number, payload: Uint8Array): Field {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length), ...payload]);
}
const str = (field: number, value: string): Field => bytes(field, new TextEncoder().encode(value));
const msg = (field: number, ...parts: Field[]): Field => bytes(field, concat(parts));

function concat(parts: Field[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- ONNX (onnx.proto field numbers) ---------------------------------------------------------

const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_INT = 2;

const node = (op: string, inputs: string[], outputs: string[], ...attributes: Field[]): Field =>
  msg(
    1,
    ...inputs.map((i) => str(1, i)),
    ...outputs.map((o) => str(2, o)),
    str(3, `${op}-${outputs[0]}`),
    str(4, op),
    ...attributes,
  );
const intAttribute = (name: string, value: number): Field =>
  msg(5, str(1, name), int(3, value), int(20, ATTRIBUTE_INT));
const dim = (d: number | string): Field => msg(1, typeof d === "number" ? int(1, d) : str(2, d));
const valueInfo = (field: number, name: string, type: number, dims: (number | string)[]): Field =>
  msg(field, str(1, name), msg(2, msg(1, int(1, type), msg(2, ...dims.map(dim)))));
function initializer(name: string, type: number, dims: number[], raw: Uint8Array): Field {
  return msg(5, ...dims.map((d) => int(1, d)), int(2, type), str(8, name), bytes(9, raw));
}

function nullModelBytes(numLabels: number): Uint8Array {
  const axes = new Uint8Array(new BigInt64Array([1n]).buffer);
  const weights = new Uint8Array(new Float32Array(numLabels).map((_, i) => (i - 1) * 1e-6).buffer);
  const graph = msg(
    7,
    node("Cast", ["input_ids"], ["ids_f"], intAttribute("to", FLOAT)),
    node("Cast", ["attention_mask"], ["mask_f"], intAttribute("to", FLOAT)),
    node("ReduceSum", ["ids_f", "axes"], ["ids_sum"], intAttribute("keepdims", 1)),
    node("ReduceSum", ["mask_f", "axes"], ["mask_sum"], intAttribute("keepdims", 1)),
    node("Add", ["ids_sum", "mask_sum"], ["sum"]),
    node("Mul", ["sum", "weights"], ["logits"]),
    str(2, "null"),
    initializer("axes", INT64, [1], axes),
    initializer("weights", FLOAT, [1, numLabels], weights),
    valueInfo(11, "input_ids", INT64, ["batch", "sequence"]),
    valueInfo(11, "attention_mask", INT64, ["batch", "sequence"]),
    valueInfo(12, "logits", FLOAT, ["batch", numLabels]),
  );
  return concat([int(1, 8), str(2, "sentiment-worker e2e bench"), graph, msg(8, str(1, ""), int(2, 13))]);
}

/**
 * The slow model costs about `layers` x 2 MFLOP per text whatever its length, like a model far
 * larger than the tiny fixture on a CPU (tests of rebalances and shutdowns during a backlog need
 * batches that take seconds): ReduceSum(Cast(ids)) broadcast to [batch, 1024], then `layers`
 * MatMuls by one [1024, 1024] constant of 1/1024 (the values stay put), then a [1024, 3] MatMul.
 */
function slowModelBytes(numLabels: number, layers: number): Uint8Array {
  const width = 1024;
  const axes = new Uint8Array(new BigInt64Array([1n]).buffer);
  const shape = new Uint8Array(new BigInt64Array([1n, BigInt(width)]).buffer);
  const square = new Uint8Array(new Float32Array(width * width).fill(1 / width).buffer);
  const head = new Uint8Array(new Float32Array(width * numLabels).map((_, i) => ((i % numLabels) - 1) * 1e-6).buffer);
  const hidden = Array.from({ length: layers }, (_, i) =>
    node("MatMul", [i === 0 ? "wide" : `h${i - 1}`, "square"], [`h${i}`]),
  );
  const graph = msg(
    7,
    node("Cast", ["input_ids"], ["ids_f"], intAttribute("to", FLOAT)),
    node("ReduceSum", ["ids_f", "axes"], ["ids_sum"], intAttribute("keepdims", 1)),
    node("Expand", ["ids_sum", "shape"], ["wide"]),
    ...hidden,
    node("MatMul", [`h${layers - 1}`, "head"], ["logits"]),
    str(2, "slow"),
    initializer("axes", INT64, [1], axes),
    initializer("shape", INT64, [2], shape),
    initializer("square", FLOAT, [width, width], square),
    initializer("head", FLOAT, [width, numLabels], head),
    valueInfo(11, "input_ids", INT64, ["batch", "sequence"]),
    valueInfo(11, "attention_mask", INT64, ["batch", "sequence"]),
    valueInfo(12, "logits", FLOAT, ["batch", numLabels]),
  );
  return concat([int(1, 8), str(2, "sentiment-worker tests"), graph, msg(8, str(1, ""), int(2, 13))]);
}

function modelDir(from: string, prefix: string, graph: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const name of ["tokenizer.json", "tokenizer_config.json", "config.json"]) {
    copyFileSync(join(from, name), join(dir, name));
  }
  writeFileSync(join(dir, "model.onnx"), graph);
  return dir;
}

/** A temporary model directory: `from`'s tokenizer and labels, the null graph as model.onnx. */
export function nullModelDir(from: string, numLabels = 3): string {
  return modelDir(from, "sw-null-model-", nullModelBytes(numLabels));
}

/** A temporary model directory: `from`'s tokenizer and labels, the slow graph as model.onnx. */
export function slowModelDir(from: string, layers = 8, numLabels = 3): string {
  return modelDir(from, "sw-slow-model-", slowModelBytes(numLabels, layers));
}
