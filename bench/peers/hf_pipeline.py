#!/usr/bin/env python3
"""Peer benchmark: the Python Hugging Face `transformers.pipeline("text-classification")` on PyTorch (CPU, fp32).

Spawned by bench/inference.bench.ts as a child process; see bench/peers/README.md.
Prints ONE JSON object on stdout at the end; everything else goes to stderr.

    .cache/venv-model/bin/python bench/peers/hf_pipeline.py \
        --checkpoint .cache/models/full-random-hf --texts /tmp/texts.json \
        --batch-sizes 1,8,16,32 --repeat 3 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

# Everything is local: never try the hub. Must be set before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def log(*args: object) -> None:
    print("[hf_pipeline]", *args, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="Hugging Face checkpoint dir (config.json, model.safetensors, tokenizer files)")
    p.add_argument("--texts", required=True, help="JSON file: an array of strings")
    p.add_argument("--batch-sizes", default="1,8,16,32", help="comma-separated, e.g. 1,8,16,32")
    p.add_argument("--repeat", type=int, default=3, help="timed passes over all texts per batch size")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads(n)")
    p.add_argument("--warmup-batches", type=int, default=3, help="untimed batches before timing each batch size")
    p.add_argument("--limit", type=int, default=0, help="use only the first N texts (0 = all)")
    p.add_argument("--max-length", type=int, default=512)
    args = p.parse_args(argv)
    args.batch_sizes = [int(x) for x in str(args.batch_sizes).split(",") if x.strip()]
    if not args.batch_sizes or any(b < 1 for b in args.batch_sizes):
        p.error("--batch-sizes must be positive integers")
    if args.repeat < 1 or args.threads < 1:
        p.error("--repeat and --threads must be >= 1")
    return args


def load_texts(path: str, limit: int) -> list[str]:
    with open(path, encoding="utf-8") as f:
        texts = json.load(f)
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise SystemExit(f"{path}: expected a JSON array of strings")
    if limit > 0:
        texts = texts[:limit]
    if not texts:
        raise SystemExit(f"{path}: no texts")
    return texts


def torch_thread_info(torch) -> dict:
    info = torch.__config__.parallel_info()
    m = re.search(r"at::get_num_threads\(\)\s*:\s*(\d+)", info)
    backend = re.search(r"ATen parallel backend:\s*(.+)", info)
    return {
        "parallelInfoNumThreads": int(m.group(1)) if m else None,
        "getNumThreads": torch.get_num_threads(),
        "getNumInteropThreads": torch.get_num_interop_threads(),
        "parallelBackend": backend.group(1).strip() if backend else None,
        "mkldnnEnabled": bool(torch.backends.mkldnn.is_available()),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "TOKENIZERS_PARALLELISM")},
    }


def round_result(items: list[dict]) -> list[dict]:
    return [{"label": str(r["label"]), "score": float(r["score"])} for r in items]


def main() -> None:
    args = parse_args()
    texts = load_texts(args.texts, args.limit)

    import torch
    import transformers
    import tokenizers
    from transformers import pipeline

    transformers.logging.set_verbosity_error()  # keep stdout/stderr quiet; we log our own progress
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    clf = pipeline(
        "text-classification",
        model=args.checkpoint,
        tokenizer=args.checkpoint,
        device="cpu",
        dtype=torch.float32,
        top_k=None,
        truncation=True,
        max_length=args.max_length,
        batch_size=args.batch_sizes[0],
    )
    clf.model.eval()
    load_seconds = time.perf_counter() - t0
    log(f"loaded {args.checkpoint} in {load_seconds:.1f}s; {len(texts)} texts; threads={torch.get_num_threads()}")

    runs = []
    with torch.inference_mode():
        # Reference answers for the parity check: first 5 texts, one at a time (no padding), untimed.
        first_results = [round_result(r) for r in clf(texts[:5], batch_size=1)]

        for b in args.batch_sizes:
            # Same pipeline object; batch_size given per call (equivalent to pipeline(..., batch_size=b)).
            warm = texts[: min(len(texts), max(1, args.warmup_batches) * b)]
            clf(warm, batch_size=b)
            seconds = []
            for r in range(args.repeat):
                t = time.perf_counter()
                out = clf(texts, batch_size=b)  # list in, list out, in order
                dt = time.perf_counter() - t
                if len(out) != len(texts):
                    raise SystemExit(f"pipeline returned {len(out)} results for {len(texts)} texts")
                seconds.append(dt)
                log(f"batch={b} repeat={r + 1}/{args.repeat}: {dt:.3f}s, {len(texts) / dt:.1f} msg/s")
            mps = [len(texts) / s for s in seconds]
            runs.append(
                {
                    "batchSize": b,
                    "seconds": seconds,
                    "messagesPerSecond": mps,
                    "medianMessagesPerSecond": statistics.median(mps),
                }
            )

    best = max(runs, key=lambda r: r["medianMessagesPerSecond"])
    result = {
        "peer": "hf-pipeline-pytorch",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "threads": args.threads,
        "torchThreads": torch_thread_info(torch),
        "dtype": "fp32",
        "checkpoint": os.path.abspath(args.checkpoint),
        "loadSeconds": load_seconds,
        "messages": len(texts),
        "runs": runs,
        "best": {"batchSize": best["batchSize"], "medianMessagesPerSecond": best["medianMessagesPerSecond"]},
        "firstResultsBatchSize": 1,
        "firstResults": first_results,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
