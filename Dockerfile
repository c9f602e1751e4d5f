# The mixup-batch job image: AWS Batch runs it on GPU instances as `mixup run`, configured by
# MIXUP_* environment variables and/or arguments. It holds the job alone (dist/job and its
# production dependencies); the user's commands (sweep, results, seed-data) stay on the user's machine.
#
#   docker build -t mixup-batch .                       # GPU image (needs Docker Hub and npmjs.org)
#   docker build --target cpu -t mixup-batch:cpu .      # CPU image: no CUDA, trains on wasm (Fargate)
#
# Every base image and the npm registry are build arguments, so the same file builds where Docker Hub
# cannot be reached (test/support/base-image.sh builds a local stand-in; see docs/container.md).
# No `# syntax=` line: BuildKit would pull that frontend image from Docker Hub even for offline builds.

# Where the TypeScript is compiled; any image with Node ≥ 20.11 and npm.
ARG BUILD_BASE=node:22-bookworm-slim
# @tensorflow/tfjs-node-gpu 4.22 loads libtensorflow 2.9.1, which needs CUDA 11.2 and cuDNN 8.1:
# a CUDA 12 base fails to load it. NVIDIA lists 11.2.2 tags as end-of-life, to be removed: mirror the
# image into your own ECR and pin it by digest (docs/container.md), e.g.
#   --build-arg RUNTIME_BASE=123456789012.dkr.ecr.eu-west-1.amazonaws.com/cuda@sha256:<digest>
# or -c runtimeBase=… for `cdk deploy`.
ARG RUNTIME_BASE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
# Supplies Node to the runtime base: /usr/local/bin/node and /usr/local/lib/node_modules/npm, as the
# official node images lay them out. Official Node 22 binaries need glibc ≥ 2.28; Ubuntu 20.04 has 2.31.
ARG NODE_IMAGE=node:22-bookworm-slim
# The CPU image's base: any glibc image with Node ≥ 20.11 at /usr/local/bin/node, as the official ones have.
ARG CPU_BASE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS node

# ---- build: compile job/ (the container's program; it imports nothing outside job/) to dist/ ---------
FROM ${BUILD_BASE} AS build
ARG NPM_REGISTRY=https://registry.npmjs.org/
ARG NODE_EXTRA_CA_CERTS=
ENV NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} \
    npm_config_registry=${NPM_REGISTRY} \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped: the root `prepare` would compile before the sources are copied, and the
# compiler needs no native addon (the GPU addon is installed in the runtime stage, on its own base).
RUN npm ci --ignore-scripts --omit=optional && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY job ./job
RUN npm run build

# ---- cpu: the CPU image (AWS Batch on Fargate, or any machine without a GPU) -------------------------
# No CUDA base and no native TensorFlow: `--backend auto` finds neither tfjs-node package and trains on
# wasm, the backend the test suite covers. Same entry, same non-root user as the GPU image. These stages
# come before the GPU ones, so `--target cpu` builds nothing of the GPU image.
FROM ${CPU_BASE} AS cpu-deps
ARG NPM_REGISTRY=https://registry.npmjs.org/
ARG NODE_EXTRA_CA_CERTS=
ENV NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} \
    npm_config_registry=${NPM_REGISTRY} \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script that matters is tfjs-node-gpu's libtensorflow download,
# which this image does not want (--omit=optional would also drop @napi-rs/canvas's native binary).
RUN npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && rm -rf node_modules/@tensorflow/tfjs-node-gpu node_modules/@aws-sdk/client-batch node_modules/@aws-sdk/client-ssm node_modules/@aws-sdk/client-cloudwatch-logs \
 && find node_modules -name '*.map' -delete

FROM ${CPU_BASE} AS cpu
ARG NODE_EXTRA_CA_CERTS=
ENV NODE_ENV=production \
    NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS}
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/mixup mixup \
 && mkdir -p /work && chown mixup:mixup /work
WORKDIR /app
COPY --from=cpu-deps /app/node_modules ./node_modules
COPY --from=cpu-deps /app/package.json ./package.json
COPY --from=build /src/dist ./dist
# The entry loads every module `mixup run` imports statically, and the wasm backend initialises.
RUN node /app/dist/job/cli.js --version >/dev/null \
 && node -e "const tf = require('@tensorflow/tfjs'); require('@tensorflow/tfjs-backend-wasm'); tf.setBackend('wasm').then((ok) => { if (!ok) process.exit(1); })"
WORKDIR /work
USER mixup
ENTRYPOINT ["node", "/app/dist/job/cli.js"]
CMD ["run"]

# ---- deps: production node_modules, installed on the runtime base so native addons match its glibc ----
FROM ${RUNTIME_BASE} AS deps
ARG NPM_REGISTRY=https://registry.npmjs.org/
ARG NODE_EXTRA_CA_CERTS=
ENV NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} \
    npm_config_registry=${NPM_REGISTRY} \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` compiles with tsc, a dev dependency that --omit=dev leaves out; dist/ comes from the
# build stage instead. Packages install with scripts off; then only @tensorflow/tfjs-node-gpu's install
# script runs, which downloads libtensorflow 2.9.1 and a prebuilt addon: from Google's storage by
# default, from the user's mirror with TFJS_NODE_CDN_STORAGE (a base URL holding
# tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz) or TFJS_CUSTOM_BINARY (the JSON
# of tfjs-node's scripts/custom-binary.json: {"tf-lib": URL, "addon": {host, remote_path, package_name}}).
# The installer does not check HTTP status, so the proof is loading the binding (require, not resolve):
# by default a binding that does not load fails the build in one line, since the job would train on
# wasm, hours instead of minutes; GPU_BACKEND=optional accepts it (offline builds) and removes it.
# Source maps are half of tfjs's 290 MB and nothing reads them. The Batch, SSM, ECR and Service Quotas
# SDKs are the user's commands' (sweep, results, doctor), which the image does not hold; the job never
# imports them (.dependency-cruiser.cjs), and the runtime stage checks that the entry loads without them.
ARG GPU_BACKEND=required
ARG TFJS_NODE_CDN_STORAGE=
ARG TFJS_CUSTOM_BINARY=
ENV TFJS_NODE_CDN_STORAGE=${TFJS_NODE_CDN_STORAGE}
RUN case "$GPU_BACKEND" in required|optional) ;; \
      *) echo "GPU_BACKEND='$GPU_BACKEND' must be 'required' or 'optional'" >&2; exit 2 ;; esac \
 && npm() { node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"; } \
 && npm pkg delete scripts.prepare \
 && npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && find node_modules -name '*.map' -delete \
 && rm -rf node_modules/@aws-sdk/client-batch node_modules/@aws-sdk/client-ssm node_modules/@aws-sdk/client-ecr node_modules/@aws-sdk/client-service-quotas node_modules/@aws-sdk/client-cloudwatch-logs \
 && GPU_PKG=node_modules/@tensorflow/tfjs-node-gpu \
 && if [ -d "$GPU_PKG" ]; then \
      if [ -n "$TFJS_CUSTOM_BINARY" ]; then printf '%s' "$TFJS_CUSTOM_BINARY" > "$GPU_PKG/scripts/custom-binary.json"; fi; \
      npm rebuild @tensorflow/tfjs-node-gpu --foreground-scripts || echo "@tensorflow/tfjs-node-gpu: install script failed (log above)"; \
    fi \
 && if WHY=$(node -e "try { require('@tensorflow/tfjs-node-gpu') } catch (e) { console.log(String(e.message).split('\\n')[0]); process.exit(1) }" 2>/dev/null); then \
      echo "@tensorflow/tfjs-node-gpu loads: the job will train on the GPU"; \
    elif [ "$GPU_BACKEND" = required ]; then \
      echo "@tensorflow/tfjs-node-gpu does not load (${WHY:-not installed}), so the job would train on wasm; fix the download (TFJS_NODE_CDN_STORAGE, TFJS_CUSTOM_BINARY; docs/container.md) or build with --build-arg GPU_BACKEND=optional to accept that" >&2; \
      exit 1; \
    else \
      rm -rf "$GPU_PKG"; \
      echo "@tensorflow/tfjs-node-gpu does not load (${WHY:-not installed}); GPU_BACKEND=optional: the job will use wasm"; \
    fi

# ---- runtime ---------------------------------------------------------------------------------------
FROM ${RUNTIME_BASE} AS runtime
ARG NODE_EXTRA_CA_CERTS=
# TF_CPP_MIN_LOG_LEVEL=0 keeps TensorFlow's "Created device /GPU:0 … compute capability" and
# "Could not load dynamic library" lines in the job's log: they are how a CPU fallback is diagnosed.
ENV NODE_ENV=production \
    NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    TF_CPP_MIN_LOG_LEVEL=0
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/mixup mixup \
 && mkdir -p /work && chown mixup:mixup /work
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/package.json ./package.json
COPY --from=build /src/dist ./dist
# The entry loads every module `mixup run` imports statically: proof the image lacks nothing it needs.
RUN node /app/dist/job/cli.js --version >/dev/null
# Code stays root-owned and read-only to the job; local outputs (MIXUP_OUT=runs/…) land in /work.
WORKDIR /work
USER mixup
ENTRYPOINT ["node", "/app/dist/job/cli.js"]
CMD ["run"]
