/**
 * The model on ONNX Runtime: one session, inputs read from the model, execution providers and
 * thread counts from configuration, one warm-up run before it takes traffic.
 */
import * as ort from "onnxruntime-node";
import { InferenceError, ModelError } from "../errors/errors.js";
import type { InferenceBackend, ProviderChoice, RuntimeOptions } from "./inference-backend.js";
import type { PaddedBatch } from "./padded-batch.js";

const REQUIRED_INPUTS = ["input_ids", "attention_mask"] as const;
const OPTIONAL_INPUTS = ["token_type_ids"] as const;

export class OnnxBackend implements InferenceBackend {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly numLabels: number,
    private readonly outputName: string,
    private readonly wantsTokenTypes: boolean,
    readonly providers: ProviderChoice,
  ) {}

  static async load(onnxPath: string, numLabels: number, runtime: RuntimeOptions): Promise<OnnxBackend> {
    const { session, providers } = await createSession(onnxPath, runtime);
    const inputs = session.inputNames;
    const missing = REQUIRED_INPUTS.filter((name) => !inputs.includes(name));
    const unknown = inputs.filter((name) => ![...REQUIRED_INPUTS, ...OPTIONAL_INPUTS].includes(name as never));
    if (missing.length || unknown.length) {
      await session.release();
      throw new ModelError(
        `the ONNX model ${onnxPath} has inputs [${inputs.join(", ")}]; expected ${REQUIRED_INPUTS.join(" and ")}` +
          ` (and optionally token_type_ids): export it with tools/model/run.sh export`,
      );
    }
    const outputName = session.outputNames.includes("logits") ? "logits" : (session.outputNames[0] as string);
    const backend = new OnnxBackend(session, numLabels, outputName, inputs.includes("token_type_ids"), providers);
    await backend.warmUp();
    return backend;
  }

  /** One small run so the first real batch does not pay for lazy initialisation. */
  private async warmUp(): Promise<void> {
    const length = 8;
    const ids = new BigInt64Array(length).fill(1n);
    const logits = await this.run({ size: 1, length, inputIds: ids, attentionMask: ids, realTokens: length });
    if (logits.length !== this.numLabels) {
      await this.close();
      throw new ModelError(
        `the ONNX model gives ${logits.length} outputs per text but config.json names ${this.numLabels} labels`,
      );
    }
  }

  async run(batch: PaddedBatch): Promise<Float32Array> {
    const dims = [batch.size, batch.length];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", batch.inputIds, dims),
      attention_mask: new ort.Tensor("int64", batch.attentionMask, dims),
    };
    if (this.wantsTokenTypes)
      feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(batch.inputIds.length), dims);
    let output: ort.Tensor | undefined;
    try {
      output = (await this.session.run(feeds))[this.outputName];
    } catch (e) {
      throw new InferenceError(`ONNX Runtime failed on a batch of ${batch.size}x${batch.length}`, { cause: e });
    }
    if (output?.type !== "float32")
      throw new InferenceError(`the model's output ${this.outputName} is not float32 logits`);
    return output.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * A session on the first providers of the list that start here: the list is an order of
 * preference (`cuda,cpu`), so a provider whose libraries are missing (no CUDA on this machine) is
 * skipped with its reason rather than failing the start. A model that no provider can load fails
 * with the last provider's error.
 */
async function createSession(
  onnxPath: string,
  runtime: RuntimeOptions,
): Promise<{ session: ort.InferenceSession; providers: ProviderChoice }> {
  const skipped: Array<{ provider: string; reason: string }> = [];
  const list = [...runtime.executionProviders];
  for (let i = 0; ; i++) {
    const used = list.slice(i);
    try {
      const session = await ort.InferenceSession.create(onnxPath, {
        executionProviders: used,
        intraOpNumThreads: runtime.intraOpThreads,
        interOpNumThreads: runtime.interOpThreads,
        graphOptimizationLevel: "all",
        executionMode: "sequential",
        // No busy-waiting between operators and runs: the worker's own thread (Kafka, Redis,
        // tokenizing) and often the broker share these cores. Measured on 2 cores, tiny model: a
        // paced run used 115% of a core spinning, 26% without; the worker's throughput rose 12-24%
        // and the full-size model's rate did not change.
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      return { session, providers: { used, skipped } };
    } catch (e) {
      if (used.length > 1) {
        skipped.push({ provider: used[0] as string, reason: (e as Error).message });
        continue;
      }
      throw new ModelError(`cannot load the ONNX model ${onnxPath}: ${(e as Error).message}`, { cause: e });
    }
  }
}
