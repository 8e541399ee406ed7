"""`parity`: reference outputs of Python transformers (PyTorch fp32) for every corpus text."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .common import LABELS, MAX_LENGTH, read_jsonl, read_manifest, rel, softmax, write_json


def _dump(obj) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch in ("\u2028", "\u2029", "\u0085"):
        text = text.replace(ch, "\\u%04x" % ord(ch))
    return text


def _write_parity(out: Path, doc: dict) -> None:
    """Readable top level, one corpus item per line (diff-friendly)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in doc.items() if k != "items"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f" {_dump(k)}: {_dump(v)},")
    lines.append(' "items": [')
    items = doc["items"]
    for i, it in enumerate(items):
        lines.append("  " + _dump(it) + ("," if i < len(items) - 1 else ""))
    lines.append(" ]")
    lines.append("}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def parity(model_dir: str | Path, checkpoint: str | Path, corpus: str | Path, out: str | Path) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .export import _ort_session

    model_dir, checkpoint, corpus, out = Path(model_dir), Path(checkpoint), Path(corpus), Path(out)
    tok = AutoTokenizer.from_pretrained(str(checkpoint))  # fast (tokenizers) backend
    model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    assert id2label == LABELS, id2label
    records = read_jsonl(corpus)

    sessions = {}
    for name in ("model.onnx", "model_quantized.onnx"):
        if (model_dir / name).exists():
            sessions[name] = _ort_session(model_dir / name)

    items = []
    worst_fp32 = 0.0
    worst_q = 0.0
    for r in records:
        full = tok(r["text"], truncation=False, verbose=False)["input_ids"]
        enc = tok(r["text"], truncation=True, max_length=MAX_LENGTH)
        ids = enc["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids]), attention_mask=torch.tensor([enc["attention_mask"]])).logits[0].numpy()
        probs = softmax(logits)
        item = {
            "id": r["id"],
            "lang": r["lang"],
            "text": r["text"],
            "ids": ids,
            "tokens": tok.convert_ids_to_tokens(ids),
            "fullLength": len(full),
            "truncated": len(full) > MAX_LENGTH,
            "logits": [float(x) for x in logits],
            "probs": {id2label[i]: float(probs[i]) for i in range(len(probs))},
        }
        feeds = {"input_ids": np.array([ids], dtype=np.int64),
                 "attention_mask": np.array([enc["attention_mask"]], dtype=np.int64)}
        if "model.onnx" in sessions:
            (lg,) = sessions["model.onnx"].run(["logits"], feeds)
            worst_fp32 = max(worst_fp32, float(np.abs(lg[0] - logits).max()))
        if "model_quantized.onnx" in sessions:
            (lq,) = sessions["model_quantized.onnx"].run(["logits"], feeds)
            item["quantizedLogits"] = [float(x) for x in lq[0]]
            worst_q = max(worst_q, float(np.abs(softmax(lq[0]) - probs).max()))
        items.append(item)

    manifest = read_manifest(model_dir) if (model_dir / "manifest.json").exists() else {}
    doc = {
        "format": 1,
        "model": rel(model_dir),
        "modelSha256": {k: v["sha256"] for k, v in manifest.get("files", {}).items() if k.endswith(".onnx")},
        "corpus": rel(corpus),
        "reference": "transformers AutoTokenizer (fast) truncation=True max_length=512 + "
                     "AutoModelForSequenceClassification, PyTorch fp32, eval(), one text per forward",
        "maxLength": MAX_LENGTH,
        "labels": [id2label[i] for i in sorted(id2label)],
        "specialTokens": {t: tok.convert_tokens_to_ids(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")},
        "checks": {
            "onnxFp32MaxAbsLogitDiff": worst_fp32 if "model.onnx" in sessions else None,
            "quantizedMaxAbsProbDiff": worst_q if "model_quantized.onnx" in sessions else None,
        },
        "items": items,
    }
    _write_parity(out, doc)
    print(f"[parity] {len(items)} items -> {out} ({out.stat().st_size} bytes); "
          f"truncated: {sum(i['truncated'] for i in items)}; ONNX fp32 max |logit diff| {worst_fp32:.3e}; "
          f"quantized max |prob diff| {worst_q:.6f}", file=sys.stderr)
    return doc
