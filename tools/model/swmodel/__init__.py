"""Model tooling for sentiment-worker (export / quantize / fixture / parity)."""
