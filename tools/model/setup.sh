#!/usr/bin/env bash
# Create (or update) the model-tooling venv at .cache/venv-model. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${MODEL_VENV:-$ROOT/.cache/venv-model}"
PY="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PY" -m venv "$VENV"
fi
# pip skips what is already installed at the pinned versions
"$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q -r "$HERE/requirements.txt"
"$VENV/bin/python" -c "import torch, transformers, tokenizers, onnx, onnxruntime; print('model venv ok:', torch.__version__, transformers.__version__, tokenizers.__version__, onnx.__version__, onnxruntime.__version__)"
