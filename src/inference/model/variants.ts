import type { ModelVariant } from "./types.js";

const onnxNames: Record<ModelVariant, string> = { fp32: "model.onnx", int8: "model_quantized.onnx" };

/**
 * Where the variant's ONNX file may be, in order of preference: our `tools/model` export writes it at
 * the top level, Hugging Face ONNX repos (Xenova/...) keep it under onnx/.
 */
export function onnxCandidates(variant: ModelVariant): string[] {
  const name = onnxNames[variant];
  return [name, `onnx/${name}`];
}

/** What to do when the variant's ONNX file is not there. */
export function missingOnnxMessage(variant: ModelVariant, where: string): string {
  const looked = onnxCandidates(variant).join(" or ");
  const fix =
    variant === "int8"
      ? "`tools/model/run.sh quantize --model-dir <dir>` makes model_quantized.onnx from model.onnx, or set model.variant=fp32"
      : "export one with `tools/model/run.sh export --source <repo> --out <dir>` and set model.dir";
  return `no ${variant} ONNX file in ${where} (looked for ${looked}): ${fix}`;
}
