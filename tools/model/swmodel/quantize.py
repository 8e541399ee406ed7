"""`quantize`: dynamic int8 quantization of model.onnx -> model_quantized.onnx."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from .common import read_jsonl, read_manifest, refresh_files, softmax, write_manifest, REPO_ROOT

DEFAULT_CORPUS = REPO_ROOT / "test/fixtures/corpus/parity-corpus.jsonl"


def run_logits(sess, tokenizer, texts: list) -> np.ndarray:
    """Logits of each text (or each (premise, hypothesis) pair, the premise truncated)."""
    out = []
    for t in texts:  # one at a time: no padding effects in the comparison
        if isinstance(t, tuple):
            enc = tokenizer([t[0]], [t[1]], truncation="only_first", max_length=512, return_tensors="np")
        else:
            enc = tokenizer([t], truncation=True, max_length=512, return_tensors="np")
        (lg,) = sess.run(["logits"], {"input_ids": enc["input_ids"].astype(np.int64),
                                      "attention_mask": enc["attention_mask"].astype(np.int64)})
        out.append(lg[0])
    return np.stack(out)


def quantize(model_dir: str | Path, corpus: str | Path | None = None, per_channel: str = "auto") -> dict:
    """For a zero-shot export (manifest `task`), the probabilities compared are the zero-shot
    scores (entailment logits of each candidate label's pair, softmaxed across the labels)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoTokenizer

    from .export import _ort_session

    logging.getLogger().setLevel(logging.ERROR)
    model_dir = Path(model_dir)
    src = model_dir / "model.onnx"
    dst = model_dir / "model_quantized.onnx"
    corpus = Path(corpus) if corpus else DEFAULT_CORPUS
    texts = [r["text"] for r in read_jsonl(corpus)]
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    zero_shot = read_manifest(model_dir).get("zeroShot")
    if zero_shot:
        hyps = [zero_shot["hypothesisTemplate"].format(lb) for lb in zero_shot["candidateLabels"]]
        inputs = [(t, h) for t in texts for h in hyps]

        def probs(sess):
            lg = run_logits(sess, tokenizer, inputs)[:, zero_shot["entailmentIndex"]]
            return softmax(lg.reshape(len(texts), len(hyps)))
    else:
        def probs(sess):
            return softmax(run_logits(sess, tokenizer, texts))
    ref = probs(_ort_session(src))

    choices = {"auto": [False, True], "yes": [True], "no": [False]}[per_channel]
    best = None
    for pc in choices:
        tmp = model_dir / f".model_quantized.pc{int(pc)}.onnx"
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=pc)
        q = probs(_ort_session(tmp))
        d = np.abs(q - ref)
        worst = float(d.max())
        mean = float(d.mean())
        print(f"[quantize] per_channel={pc}: max |prob diff| {worst:.6f}, mean {mean:.6f}, "
              f"argmax agreement {(q.argmax(1) == ref.argmax(1)).mean():.4f}", file=sys.stderr)
        cand = {"perChannel": pc, "maxAbsProbDiff": worst, "meanAbsProbDiff": mean,
                "argmaxAgreement": float((q.argmax(1) == ref.argmax(1)).mean()), "path": tmp}
        if best is None or worst < best["maxAbsProbDiff"]:
            if best is not None:
                best["path"].unlink()
            best = cand
        else:
            tmp.unlink()
    best["path"].replace(dst)
    del best["path"]

    manifest = read_manifest(model_dir)
    manifest["quantization"] = {
        "method": "onnxruntime.quantization.quantize_dynamic",
        "weightType": "QInt8",
        **best,
        "comparedAgainst": "model.onnx (fp32), softmax probabilities, one text per run",
        "corpus": corpus.resolve().relative_to(REPO_ROOT).as_posix()
        if corpus.resolve().is_relative_to(REPO_ROOT) else str(corpus),
        "corpusSize": len(texts),
    }
    refresh_files(model_dir, manifest, ["model_quantized.onnx"])
    write_manifest(model_dir, manifest)
    print(f"[quantize] wrote {dst} ({dst.stat().st_size} bytes); per_channel={best['perChannel']}")
    print(f"[quantize] LARGEST absolute probability difference vs fp32 over {len(texts)} texts: "
          f"{best['maxAbsProbDiff']:.6g}")
    return manifest
