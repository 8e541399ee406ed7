"""`export`: Hugging Face sequence-classification checkpoint -> ONNX model directory."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .common import DEFAULT_OPSET, MANIFEST, file_entry, now_iso, refresh_files, write_manifest

EXPORT_FILES = ["model.onnx", "tokenizer.json", "tokenizer_config.json", "config.json"]
PARITY_TOLERANCE = 1e-4

# A few texts of different lengths/scripts to check ONNX against PyTorch.
CHECK_TEXTS = [
    "I love this!",
    "Worst customer service I've ever dealt with. Never again.",
    "今天天气真好，心情超级棒☀️",
    "أفضل يوم في حياتي، شكراً لكل من حضر ❤️",
    "",
    "मीटिंग गुरुवार दोपहर 3 बजे कर दी गई है।",
    "long " * 600,  # truncated to 512 tokens
]


def _wrap(model):
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).logits

    return LogitsOnly(model).eval()


def _ort_session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def check_onnx(onnx_path: Path, model, tokenizer, texts=CHECK_TEXTS, hypotheses: list[str] | None = None) -> float:
    """Max abs logit diff ONNX vs PyTorch, one text at a time and as one padded batch; with
    `hypotheses` (zero-shot), each text paired with each hypothesis, the premise truncated."""
    import torch

    sess = _ort_session(onnx_path)
    worst = 0.0
    if hypotheses:
        texts = [(t, h) for t in texts for h in hypotheses]
    runs = [[t] for t in texts] + [list(texts[: len(CHECK_TEXTS) * (len(hypotheses) if hypotheses else 1)])]
    for batch in runs:
        if hypotheses:
            enc = tokenizer([p for p, _ in batch], [h for _, h in batch], truncation="only_first", max_length=512,
                            padding=True, return_tensors="np")
        else:
            enc = tokenizer(batch, truncation=True, max_length=512, padding=True, return_tensors="np")
        ids = enc["input_ids"].astype(np.int64)
        mask = enc["attention_mask"].astype(np.int64)
        (onnx_logits,) = sess.run(["logits"], {"input_ids": ids, "attention_mask": mask})
        with torch.no_grad():
            ref = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits.numpy()
        worst = max(worst, float(np.abs(onnx_logits - ref).max()))
    return worst


# loading kwargs that transformers 5 writes back into tokenizer_config.json
_LOAD_ONLY_KEYS = ("is_local", "local_files_only", "_commit_hash", "revision", "cache_dir", "token")


def _save_tokenizer(tokenizer, out: Path) -> None:
    with tempfile.TemporaryDirectory() as td:
        tokenizer.save_pretrained(td)
        shutil.copyfile(Path(td) / "tokenizer.json", out / "tokenizer.json")
        cfg = json.loads((Path(td) / "tokenizer_config.json").read_text(encoding="utf-8"))
        for k in _LOAD_ONLY_KEYS:
            cfg.pop(k, None)
        (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n",
                                                   encoding="utf-8")
    tj = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    if tj.get("truncation") or tj.get("padding"):
        raise SystemExit("tokenizer.json unexpectedly carries truncation/padding state")


def export(source: str, out: str | Path, revision: str | None = None, opset: int = DEFAULT_OPSET,
           extra_manifest: dict | None = None, task: str = "classify") -> dict:
    """`task` "zero-shot": an NLI model (an id2label with an entailment label), checked on
    premise/hypothesis pairs the way transformers' zero-shot pipeline feeds it."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kw = {"revision": revision} if revision else {}
    tokenizer = AutoTokenizer.from_pretrained(source, **kw)
    # Save the tokenizer before any encoding call: calls with truncation/padding
    # leave that state in the backend, and it would end up in tokenizer.json.
    _save_tokenizer(tokenizer, out)
    # eager attention gives the plainest graph with the TorchScript exporter
    model = AutoModelForSequenceClassification.from_pretrained(
        source, attn_implementation="eager", dtype=torch.float32, **kw
    ).eval()
    cfg = model.config
    if not getattr(cfg, "id2label", None):
        raise SystemExit("checkpoint config has no id2label")
    hypotheses = None
    zero_shot = {}
    if task == "zero-shot":
        from .zeroshot import zero_shot_facts

        zero_shot = zero_shot_facts(cfg)
        hypotheses = [zero_shot["hypothesisTemplate"].format(lb) for lb in zero_shot["candidateLabels"]]

    # Dummy input: a padded batch, so the mask path is traced with real zeros.
    if hypotheses:
        enc = tokenizer(["hello world, a short one", "a somewhat longer text with more tokens in it"],
                        [hypotheses[0], hypotheses[-1]], padding=True, return_tensors="pt")
    else:
        enc = tokenizer(["hello world, a short one", "a somewhat longer text with more tokens in it"],
                        padding=True, return_tensors="pt")
    args = (enc["input_ids"].to(torch.int64), enc["attention_mask"].to(torch.int64))
    onnx_path = out / "model.onnx"
    print(f"[export] torch.onnx.export (TorchScript exporter, dynamo=False) opset={opset} -> {onnx_path}",
          file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(
            _wrap(model), args, str(onnx_path),
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "logits": {0: "batch"},
            },
            opset_version=opset,
            do_constant_folding=True,
        )
    seen = set()
    for w in caught:
        msg = f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}"
        if msg not in seen:
            seen.add(msg)
            print(f"[export] warning: {msg}", file=sys.stderr)

    import onnx

    m = onnx.load(str(onnx_path))
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"[export] graph: {len(m.graph.node)} nodes, ops={ops}", file=sys.stderr)

    check_texts = list(CHECK_TEXTS)
    if hypotheses:
        # A teacher is checked on the whole corpus too (one pair per run), its long texts truncated.
        from .common import read_jsonl
        from .quantize import DEFAULT_CORPUS

        check_texts += [r["text"] for r in read_jsonl(DEFAULT_CORPUS)]
    diff = check_onnx(onnx_path, model, tokenizer, texts=check_texts, hypotheses=hypotheses)
    print(f"[export] ONNX vs PyTorch max abs logit diff: {diff:.3e} (tolerance {PARITY_TOLERANCE:g})")
    if not diff <= PARITY_TOLERANCE:
        raise SystemExit(f"ONNX/PyTorch mismatch {diff} > {PARITY_TOLERANCE}")

    cfg.to_json_file(str(out / "config.json"))
    # drop a stale quantized model from a previous export
    q = out / "model_quantized.onnx"
    if q.exists():
        q.unlink()

    manifest = {
        "format": 1,
        "source": str(source),
        "revision": revision,
        "opset": opset,
        "exportedAt": now_iso(),
        "exporter": {"torch": torch.__version__, "dynamo": False, "attnImplementation": "eager"},
        "inputs": {"input_ids": "int64[batch,sequence]", "attention_mask": "int64[batch,sequence]"},
        "outputs": {"logits": f"float32[batch,{cfg.num_labels}]"},
        "maxLength": int(getattr(tokenizer, "model_max_length", 512)),
        "onnxVsTorchMaxAbsLogitDiff": diff,
        "files": {},
    }
    if zero_shot:
        manifest["task"] = "zero-shot"
        manifest["zeroShot"] = zero_shot
    if extra_manifest:
        manifest.update(extra_manifest)
    refresh_files(out, manifest, EXPORT_FILES)
    write_manifest(out, manifest)
    print(f"[export] wrote {out}/{{{','.join(EXPORT_FILES + [MANIFEST])}}}", file=sys.stderr)
    return manifest
