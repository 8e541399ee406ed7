"""The teacher: a zero-shot NLI model (`--task zero-shot`).

The student was distilled from `MoritzLaurer/mDeBERTa-v3-base-mnli-xnli`, asked "The sentiment of
this text is {}." for positive, neutral and negative. Here: the facts a zero-shot export records in
its manifest, seeded random-weight DeBERTa-v2 NLI models with that shape (`fixture --task
zero-shot`), and the reference outputs of transformers' `ZeroShotClassificationPipeline`.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np

from .common import DEFAULT_OPSET, DEFAULT_SEED, MAX_LENGTH, REPO_ROOT, read_jsonl, read_manifest, rel, softmax

# The model card's question (and transformers' pipeline argument names).
HYPOTHESIS_TEMPLATE = "The sentiment of this text is {}."
CANDIDATE_LABELS = ["positive", "neutral", "negative"]
# MoritzLaurer/mDeBERTa-v3-base-mnli-xnli's id2label
NLI_LABELS = {0: "entailment", 1: "neutral", 2: "contradiction"}

SIZES = {
    # tiny: committed fixture, ~1 MB
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 256,
             "initializer_range": 0.15, "vocab_size": None},
    # full: mDeBERTa-v3-base's shape (250105 pieces, 278 M parameters), for the bench
    "full": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
             "initializer_range": 0.02, "vocab_size": 250105},
}
DEFAULT_OUT = {"tiny": "test/fixtures/models/tiny-teacher", "full": ".cache/models/full-teacher"}
CHECKPOINT_DIR = {"tiny": ".cache/models/tiny-teacher-hf", "full": ".cache/models/full-teacher-hf"}
PARITY_OUT = {"tiny": "test/fixtures/parity/tiny-teacher.json", "full": None}
CORPUS = "test/fixtures/corpus/parity-corpus.jsonl"


def entailment_index(cfg) -> int:
    """What the pipeline does: the first label (of label2id) starting with "entail", any case."""
    for label, ind in (cfg.label2id or {}).items():
        if str(label).lower().startswith("entail"):
            return int(ind)
    raise SystemExit("not an NLI model: no label starting with 'entail' in config.json's label2id "
                     f"({cfg.label2id}); a zero-shot export needs one")


def zero_shot_facts(cfg) -> dict:
    return {"entailmentIndex": entailment_index(cfg), "hypothesisTemplate": HYPOTHESIS_TEMPLATE,
            "candidateLabels": list(CANDIDATE_LABELS)}


def make_teacher(size: str, seed: int, retrain_tokenizer: bool = False):
    import torch
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    from .unigram_train import build_deberta_tokenizer, pad_unigram, read_unigram, train_unigram, write_unigram

    p = SIZES[size]
    if retrain_tokenizer:
        write_unigram(train_unigram())
    pieces = read_unigram()
    if p["vocab_size"]:
        pieces = pad_unigram(pieces, p["vocab_size"])
    tok = build_deberta_tokenizer(pieces)
    # mDeBERTa-v3-base's config, scaled down for tiny
    cfg = DebertaV2Config(
        vocab_size=len(pieces),
        hidden_size=p["hidden_size"], num_hidden_layers=p["num_hidden_layers"],
        num_attention_heads=p["num_attention_heads"], intermediate_size=p["intermediate_size"],
        hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        max_position_embeddings=512, type_vocab_size=0, initializer_range=p["initializer_range"],
        layer_norm_eps=1e-7, relative_attention=True, max_relative_positions=-1, position_buckets=256,
        norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type=["p2c", "c2p"],
        position_biased_input=False, pad_token_id=0,
        id2label=dict(NLI_LABELS), label2id={v: k for k, v in NLI_LABELS.items()},
        architectures=["DebertaV2ForSequenceClassification"],
    )
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    model = DebertaV2ForSequenceClassification(cfg).eval()
    return model, tok


def teacher_fixture(size: str, out: str | None, seed: int = DEFAULT_SEED, opset: int = DEFAULT_OPSET,
                    checkpoint: str | None = None, retrain_tokenizer: bool = False, run_parity: bool = True) -> None:
    import torch

    from .export import export
    from .quantize import quantize

    t0 = time.time()
    out_dir = Path(out or REPO_ROOT / DEFAULT_OUT[size])
    ckpt = Path(checkpoint or REPO_ROOT / CHECKPOINT_DIR[size])
    print(f"[teacher] size={size} seed={seed} -> checkpoint {ckpt}, model dir {out_dir}", file=sys.stderr)
    model, tok = make_teacher(size, seed, retrain_tokenizer)
    if ckpt.exists():
        shutil.rmtree(ckpt)
    model.save_pretrained(str(ckpt))
    tok.save_pretrained(str(ckpt))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"[teacher] random model: {n_params} parameters, vocab {len(tok)} ({time.time() - t0:.0f}s)",
          file=sys.stderr)
    del model
    for name in ("model.onnx", "model_quantized.onnx", "tokenizer.json", "tokenizer_config.json",
                 "config.json", "manifest.json", "parity.json"):
        if (out_dir / name).exists():
            (out_dir / name).unlink()
    export(str(ckpt), out_dir, revision=None, opset=opset, task="zero-shot", extra_manifest={
        "source": f"sentiment-worker/fixture-{size}-teacher",
        "fixture": {"size": size, "seed": seed, "parameters": n_params,
                    "description": "random-init DebertaV2ForSequenceClassification (NLI labels, mDeBERTa-v3 "
                                   "shape); checkpoint regenerated by `tools/model/run.sh fixture --task zero-shot`",
                    **{k: v for k, v in SIZES[size].items() if k != "vocab_size"},
                    "vocabSize": len(tok),
                    "tokenizer": "Unigram trained on the project corpus (tools/model/vocab/unigram.json), "
                                 "DebertaV2Tokenizer pipeline, mDeBERTa's special ids"},
    })
    print(f"[teacher] exported ({time.time() - t0:.0f}s)", file=sys.stderr)
    corpus = REPO_ROOT / CORPUS
    quantize(out_dir, corpus)
    print(f"[teacher] quantized ({time.time() - t0:.0f}s)", file=sys.stderr)
    if run_parity:
        pout = Path(PARITY_OUT[size]) if PARITY_OUT[size] else out_dir / "parity.json"
        if not pout.is_absolute():
            pout = REPO_ROOT / pout
        zero_shot_parity(out_dir, ckpt, corpus, pout)
    print(f"[teacher] done in {time.time() - t0:.0f}s", file=sys.stderr)


def zero_shot_parity(model_dir: str | Path, checkpoint: str | Path, corpus: str | Path, out: str | Path) -> dict:
    """The reference: transformers' ZeroShotClassificationPipeline (multi_label=False, the card's
    template and labels) on every corpus text, plus each pair's ids and entailment logit."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from .export import _ort_session
    from .parity import _write_parity

    model_dir, checkpoint, corpus, out = Path(model_dir), Path(checkpoint), Path(corpus), Path(out)
    tok = AutoTokenizer.from_pretrained(str(checkpoint))
    model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    clf = pipeline("zero-shot-classification", model=model, tokenizer=tok, device="cpu")
    facts = zero_shot_facts(model.config)
    ent = facts["entailmentIndex"]
    labels = facts["candidateLabels"]
    hyps = [HYPOTHESIS_TEMPLATE.format(lb) for lb in labels]
    sessions = {n: _ort_session(model_dir / n) for n in ("model.onnx", "model_quantized.onnx")
                if (model_dir / n).exists()}

    items = []
    worst_fp32 = worst_ours = worst_q = 0.0
    for r in read_jsonl(corpus):
        # The pipeline refuses an empty sequence ("You must include at least one ... sequence"); the
        # worker tags it like any text, so its reference is the pipeline's arithmetic on the same pairs.
        res = clf(r["text"], candidate_labels=labels, hypothesis_template=HYPOTHESIS_TEMPLATE,
                  multi_label=False) if r["text"] else None
        pairs, ent_logits, q_logits = [], [], []
        for h in hyps:
            full = tok(r["text"], h, truncation=False, verbose=False)["input_ids"]
            enc = tok(r["text"], h, truncation="only_first", max_length=MAX_LENGTH)
            ids = enc["input_ids"]
            feeds = {"input_ids": np.array([ids], dtype=np.int64),
                     "attention_mask": np.array([enc["attention_mask"]], dtype=np.int64)}
            with torch.no_grad():
                lg = model(input_ids=torch.tensor([ids]), attention_mask=torch.tensor([enc["attention_mask"]])
                           ).logits[0].numpy()
            ent_logits.append(float(lg[ent]))
            if "model.onnx" in sessions:
                (lo,) = sessions["model.onnx"].run(["logits"], feeds)
                worst_fp32 = max(worst_fp32, float(np.abs(lo[0] - lg).max()))
            if "model_quantized.onnx" in sessions:
                (lq,) = sessions["model_quantized.onnx"].run(["logits"], feeds)
                q_logits.append(float(lq[0][ent]))
            pairs.append({"ids": ids, "fullLength": len(full), "truncated": len(full) > MAX_LENGTH})
        ours = softmax(np.array(ent_logits))
        if res is None:
            scores = {lb: float(ours[i]) for i, lb in enumerate(labels)}
            top = labels[int(np.argmax(ours))]
        else:
            scores = dict(zip(res["labels"], (float(s) for s in res["scores"])))
            top = res["labels"][0]
        worst_ours = max(worst_ours, max(abs(ours[i] - scores[lb]) for i, lb in enumerate(labels)))
        item = {"id": r["id"], "lang": r["lang"], "text": r["text"],
                "truncated": any(p["truncated"] for p in pairs), "pairs": pairs,
                "entailmentLogits": ent_logits, "scores": {lb: scores[lb] for lb in labels},
                "label": top, **({} if res else {"pipeline": False})}
        if q_logits:
            qs = softmax(np.array(q_logits))
            worst_q = max(worst_q, float(np.abs(qs - ours).max()))
            item["quantizedEntailmentLogits"] = q_logits
        items.append(item)
    if worst_ours > 1e-6:
        raise SystemExit(f"the pipeline's scores are not the softmax of the pairs' entailment logits ({worst_ours})")

    manifest = read_manifest(model_dir) if (model_dir / "manifest.json").exists() else {}
    doc = {
        "format": 1,
        "task": "zero-shot",
        "model": rel(model_dir),
        "modelSha256": {k: v["sha256"] for k, v in manifest.get("files", {}).items() if k.endswith(".onnx")},
        "corpus": rel(corpus),
        "reference": "transformers ZeroShotClassificationPipeline (multi_label=False, one pair per forward), "
                     "PyTorch fp32; pairs tokenized (text, hypothesis) truncation=only_first max_length=512",
        "maxLength": MAX_LENGTH,
        "nliLabels": [model.config.id2label[i] for i in sorted(model.config.id2label)],
        "entailmentIndex": ent,
        "hypothesisTemplate": HYPOTHESIS_TEMPLATE,
        "candidateLabels": labels,
        "specialTokens": {t: tok.convert_tokens_to_ids(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]")},
        "checks": {
            "onnxFp32MaxAbsLogitDiff": worst_fp32 if "model.onnx" in sessions else None,
            "quantizedMaxAbsProbDiff": worst_q if "model_quantized.onnx" in sessions else None,
        },
        "items": items,
    }
    _write_parity(out, doc)
    spread = {lb: sum(1 for i in items if i["label"] == lb) for lb in labels}
    print(f"[parity] {len(items)} items -> {out} ({out.stat().st_size} bytes); truncated: "
          f"{sum(i['truncated'] for i in items)}; top labels {spread}; ONNX fp32 max |logit diff| {worst_fp32:.3e}; "
          f"quantized max |prob diff| {worst_q:.6f}", file=sys.stderr)
    return doc
