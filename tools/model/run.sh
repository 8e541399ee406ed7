#!/usr/bin/env bash
# Entry point for the model tooling: tools/model/run.sh <command> [args]
# Commands: export | quantize | fixture | parity | corpus | train-tokenizer (see README.md)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${MODEL_VENV:-$ROOT/.cache/venv-model}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "venv $VENV missing: run tools/model/setup.sh first" >&2
  exit 2
fi
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false
export HF_HUB_DISABLE_TELEMETRY=1
export TRANSFORMERS_NO_ADVISORY_WARNINGS=1
exec "$VENV/bin/python" -m swmodel "$@"
