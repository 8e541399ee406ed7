from __future__ import annotations

import argparse
import os

from .common import DEFAULT_OPSET, DEFAULT_SEED


def main(argv=None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    ap = argparse.ArgumentParser(prog="tools/model/run.sh", description="sentiment-worker model tooling")
    sub = ap.add_subparsers(dest="cmd", required=True)

    e = sub.add_parser("export", help="HF sequence-classification checkpoint -> ONNX model dir")
    e.add_argument("--source", required=True, help="hub id or local HF checkpoint folder")
    e.add_argument("--out", required=True)
    e.add_argument("--revision", default=None)
    e.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    e.add_argument("--task", choices=["classify", "zero-shot"], default="classify",
                   help="zero-shot: an NLI model (entailment label) checked on premise/hypothesis pairs")
    e.add_argument("--quantize", action="store_true", help="then write the int8 variant (as the quantize command)")

    q = sub.add_parser("quantize", help="dynamic int8 quantization -> model_quantized.onnx")
    q.add_argument("--model-dir", required=True)
    q.add_argument("--corpus", default=None, help="parity corpus JSONL (default: the committed one)")
    q.add_argument("--per-channel", choices=["auto", "yes", "no"], default="auto",
                   help="auto tries both and keeps the one closer to fp32")

    f = sub.add_parser("fixture", help="seeded random-weight model (+export, quantize, parity for tiny)")
    f.add_argument("--size", choices=["tiny", "full"], required=True)
    f.add_argument("--out", default=None)
    f.add_argument("--seed", type=int, default=DEFAULT_SEED)
    f.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    f.add_argument("--checkpoint", default=None, help="where to save the HF checkpoint")
    f.add_argument("--retrain-tokenizer", action="store_true",
                   help="retrain and overwrite tools/model/vocab/vocab.txt first (not reproducible bit-for-bit)")
    f.add_argument("--no-parity", action="store_true")
    f.add_argument("--task", choices=["classify", "zero-shot"], default="classify",
                   help="zero-shot: the teacher, a DeBERTa-v2 NLI model with a Unigram tokenizer")

    p = sub.add_parser("parity", help="reference outputs of Python transformers for every corpus text")
    p.add_argument("--model-dir", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--corpus", default="test/fixtures/corpus/parity-corpus.jsonl")
    p.add_argument("--out", required=True)

    c = sub.add_parser("corpus", help="rewrite the corpus JSONL from swmodel/corpus_src.py")
    c.add_argument("--out", default="test/fixtures/corpus/parity-corpus.jsonl")

    sub.add_parser("train-tokenizer", help="retrain the WordPiece vocab into tools/model/vocab/vocab.txt")
    sub.add_parser("train-unigram", help="retrain the teacher's Unigram vocab into tools/model/vocab/unigram.json")

    sub.add_parser("small-graphs", help="bench/fixtures/matmul.onnx and test/fixtures/models/wrong-inputs.onnx")

    a = ap.parse_args(argv)
    if a.cmd == "export":
        from .export import export
        export(a.source, a.out, a.revision, a.opset, task=a.task)
        if a.quantize:
            from .quantize import quantize
            quantize(a.out)
    elif a.cmd == "quantize":
        from .quantize import quantize
        quantize(a.model_dir, a.corpus, a.per_channel)
    elif a.cmd == "fixture":
        if a.task == "zero-shot":
            from .zeroshot import teacher_fixture
            teacher_fixture(a.size, a.out, a.seed, a.opset, a.checkpoint, a.retrain_tokenizer, not a.no_parity)
        else:
            from .fixture import fixture
            fixture(a.size, a.out, a.seed, a.opset, a.checkpoint, a.retrain_tokenizer, not a.no_parity)
    elif a.cmd == "parity":
        from .parity import parity
        parity(a.model_dir, a.checkpoint, a.corpus, a.out)
    elif a.cmd == "corpus":
        from .corpus_src import write_corpus
        print(write_corpus(a.out), "records ->", a.out)
    elif a.cmd == "train-tokenizer":
        from .tokenizer_train import VOCAB_FILE, train_vocab, write_vocab_file
        v = train_vocab()
        write_vocab_file(v)
        print(len(v), "tokens ->", VOCAB_FILE)
    elif a.cmd == "train-unigram":
        from .unigram_train import UNIGRAM_FILE, train_unigram, write_unigram
        v = train_unigram()
        write_unigram(v)
        print(len(v), "pieces ->", UNIGRAM_FILE)
    elif a.cmd == "small-graphs":
        from .small_graphs import write_small_graphs
        write_small_graphs()
    return 0
