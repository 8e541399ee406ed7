from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
LABELS = {0: "positive", 1: "neutral", 2: "negative"}  # the real model's id2label
MAX_LENGTH = 512
DEFAULT_SEED = 20261127
DEFAULT_OPSET = 17
REPO_ROOT = Path(__file__).resolve().parents[3]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def now_iso() -> str:
    """UTC timestamp; honours SOURCE_DATE_EPOCH for byte-reproducible manifests."""
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    t = _dt.datetime.fromtimestamp(int(sde), _dt.timezone.utc) if sde else _dt.datetime.now(_dt.timezone.utc)
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_manifest(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / MANIFEST).read_text(encoding="utf-8"))


def write_json(path: Path, obj, indent: int | None = 2) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, ensure_ascii=False, indent=indent)
    for ch in ("\u2028", "\u2029", "\u0085"):
        text = text.replace(ch, "\\u%04x" % ord(ch))
    path.write_text(text + "\n", encoding="utf-8")


def write_manifest(model_dir: Path, manifest: dict) -> None:
    write_json(Path(model_dir) / MANIFEST, manifest)


def refresh_files(model_dir: Path, manifest: dict, names: list[str]) -> None:
    files = dict(manifest.get("files", {}))
    for n in names:
        files[n] = file_entry(Path(model_dir) / n)
    manifest["files"] = dict(sorted(files.items()))


def softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def rel(path: Path) -> str:
    """Path relative to the repo root when inside it (for committed JSON)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(p)
