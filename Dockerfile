# syntax=docker/dockerfile:1
#
# sentiment-worker image: `docker build -t sentiment-worker .` (CPU) or
# `docker build --build-arg VARIANT=gpu -t sentiment-worker:gpu .` (CUDA execution provider).
# Runs as uid 10001 and works with a read-only root filesystem: the only writable paths are the
# volumes /var/cache/sentiment-worker (hub model cache) and /tmp.

# Node 24 LTS on Debian 12. The tag moves with Node 24's patch releases; the project's Node is
# .node-version (24.22.3), which the local stand-in of this image carries (scripts/containers.mjs).
# Digest: not pinned yet, since no registry answers on the machines this was written on. On one that
# reaches Docker Hub, `docker buildx imagetools inspect node:24-bookworm-slim` prints it (Digest:);
# set NODE_IMAGE=node:24-bookworm-slim@sha256:<that> after `docker run --rm <it> node --version`
# prints v<.node-version>. scripts/containers.mjs builds the stand-in under the name without it.
ARG NODE_IMAGE=node:24-bookworm-slim
# The CPU runtime: the Debian release NODE_IMAGE is built on, with only Node's binary copied in
# (npm, npx and corepack are build tools, 17 MB the worker never runs).
ARG DEBIAN_IMAGE=debian:bookworm-slim
# onnxruntime-node 1.30's CUDA provider is built for CUDA 12 with cuDNN 9; the runtime image has
# cuBLAS, cuFFT, cuRAND and cuDNN, which the provider loads.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
# cpu or gpu: picks the runtime stage below.
ARG VARIANT=cpu

# ---- build: compile TypeScript with the dev dependencies ------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# No install scripts: tsc needs none, and onnxruntime-node's would download CUDA libraries.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# .dockerignore leaves test/ and bench/ out, so this compiles src/ only.
RUN npm run build

# ---- deps: production node_modules only ---------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
ARG VARIANT
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# onnxruntime-node ships its native library for every platform (~290 MB), and tokenizers (the
# Rust tokenizer binding) its binary for every platform (~64 MB); keep this one's (~45 and ~5 MB).
# Of eld's n-gram databases the language identifier reads only `small` (src/language): 6.5 MB less.
RUN arch="$(node -p process.arch)" \
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 -type d \
      ! -path "*/linux/${arch}" -exec rm -rf {} + \
 && find node_modules/tokenizers -maxdepth 1 -name "*.node" ! -name "tokenizers.linux-${arch}-gnu.node" -delete \
 && rm -f node_modules/eld/src/ngrams/medium.js node_modules/eld/src/ngrams/large.js
# Files Node never loads (~30 MB): source maps, type declarations and TypeScript sources, and the
# CommonJS builds of @opentelemetry/* (SDK 3.x ships both; the worker is ESM and loads the .mjs
# files, and no other package require()s them).
RUN find node_modules -type f \( -name "*.map" -o -name "*.ts" -o -name "*.cts" -o -name "*.mts" \) -delete \
 && rm -f node_modules/@opentelemetry/*/dist/*.cjs
# The CPU runtime ships inside the npm package. The CUDA provider libraries do not (too large for
# npm): onnxruntime-node's own install script fetches them for the GPU variant.
RUN if [ "${VARIANT}" = "gpu" ]; then \
      ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js; \
    fi

# ---- runtime bases -------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime-cpu
COPY --from=build /usr/local/bin/node /usr/local/bin/node

FROM ${CUDA_IMAGE} AS runtime-gpu
# Node's official binary is built for glibc 2.28, so it runs on the CUDA image's Ubuntu as is.
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV SW_RUNTIME_EXECUTION_PROVIDERS=cuda,cpu

# ---- final image -----------------------------------------------------------------------------------
# One of the two stages above (their images are pinned); hadolint cannot see through the variable.
# hadolint ignore=DL3006
FROM runtime-${VARIANT}
ARG VARIANT
# tini as PID 1: it reaps children and forwards signals; a Node PID 1 ignores any signal it has
# no handler for (SIGQUIT, SIGHUP), and `docker run` commands other than `run` install none. Debian's security archive drops superseded versions, so the
# base image tag is the pin, not the package version.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sw \
 && useradd --system --uid 10001 --gid sw --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin sw \
 && mkdir -p /var/cache/sentiment-worker/models \
 && chown -R sw:sw /var/cache/sentiment-worker

WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist/src ./dist/src
COPY schemas ./schemas
RUN ln -s /app/dist/src/cli/main.js /usr/local/bin/sentiment-worker

# The live worker on Kafka by default. The model: mount an exported model directory and set
# SW_MODEL_DIR, or leave it unset and the worker fetches model.id once into SW_MODEL_CACHE_DIR
# (a volume, so it survives restarts; `sentiment-worker model fetch` pre-fetches it).
# The environment overrides a configuration file (SW_CONFIG), so only these are set here.
ENV NODE_ENV=production \
    SW_INPUT_SOURCE=kafka \
    SW_MODEL_CACHE_DIR=/var/cache/sentiment-worker/models
LABEL org.opencontainers.image.title="sentiment-worker" \
      org.opencontainers.image.description="Multilingual sentiment tagging of Kafka posts (DistilBERT on ONNX Runtime)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.sentiment-worker.variant="${VARIANT}"

# Everything else stays read-only; these are the writable paths.
VOLUME ["/var/cache/sentiment-worker", "/tmp"]
USER 10001:10001
EXPOSE 9464

# Node itself, since the slim images have no curl. /healthz answers as soon as the process is up
# (the server starts before the model loads); /readyz is for orchestrators that route or scale.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SW_TELEMETRY_HTTP_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--", "sentiment-worker"]
CMD ["run"]
