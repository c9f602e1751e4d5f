# The mixup-batch job image: AWS Batch runs it as `mixup run`, configured by MIXUP_* environment
# variables and/or arguments. It holds the job alone (dist/job and its production dependencies); the
# user's commands (sweep, results, seed-data) stay on the user's machine.
#
#   docker build -t mixup-batch .                       # GPU image: the CPU image + TensorFlow with CUDA 11
#   docker build --target cpu -t mixup-batch:cpu .      # CPU image: wasm + the native convolution (Fargate)
#
# Every byte comes from a package registry: the base image (any Debian bookworm with Node ≥ 20.11 at
# /usr/local/bin/node, as the official node images have), Debian's packages (compilers, in build
# stages only), npm (lockfiles) and PyPI (TensorFlow 2.9.1 and NVIDIA's CUDA 11 / cuDNN 8 wheels,
# pinned by SHA-256 in tensorflow/requirements-*.txt). Nothing from Google's storage, no CUDA base image.
# The bases and the npm registry are build arguments, so the same file builds where Docker Hub cannot
# be reached (test/support/base-image.sh builds a local stand-in; docs/container.md).
# No `# syntax=` line: BuildKit would pull that frontend image from Docker Hub even for offline builds.

# Where the TypeScript and the native code are compiled; any Debian bookworm image with Node and npm.
ARG BUILD_BASE=node:22-bookworm-slim
# What both images run on: the same Debian bookworm as the build, so compiled code matches its glibc.
ARG CPU_BASE=node:22-bookworm-slim

# ---- build: compile job/ (the container's program; it imports nothing outside job/) to dist/ ---------
FROM ${BUILD_BASE} AS build
ARG NPM_REGISTRY=https://registry.npmjs.org/
ARG NODE_EXTRA_CA_CERTS=
ENV NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} \
    npm_config_registry=${NPM_REGISTRY} \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false \
    DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped: the root `prepare` would compile before the sources are copied. The dev
# dependencies stay: tsc, and node-api-headers for the native stages below.
RUN npm ci --ignore-scripts && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY job ./job
RUN npm run build

# ---- native: the native forward convolution (native/), compiled here; no compiler at run time -------
FROM build AS native
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY native ./native
# native/build.sh skips the library (exit 0) where no compiler works; an image must have it. It is
# written through mktemp (mode 0600): the job's user must be able to read it.
RUN bash native/build.sh && test -f dist/native/mixup-kernels.node && chmod 0644 dist/native/mixup-kernels.node

# ---- cpu: the CPU image (AWS Batch on Fargate, or any machine without a GPU) -------------------------
# No native TensorFlow: `--backend auto` trains on wasm, with the native convolution where the CPU
# has AVX2 or AVX-512 (bit for bit the same floats, faster). These stages come before the GPU ones,
# so `--target cpu` builds nothing of the GPU image.
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
# `prepare` compiles with tsc, a dev dependency; dist/ comes from the build stages instead. Source maps
# are half of tfjs's 290 MB and nothing reads them. The Batch, SSM, ECR, Service Quotas, IAM and CloudWatch
# Logs SDKs are the user's commands' (sweep, results, doctor): the job never imports them
# (.dependency-cruiser.cjs), and the stage below checks that the entry loads without them.
RUN npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && rm -rf node_modules/@aws-sdk/client-batch node_modules/@aws-sdk/client-ssm node_modules/@aws-sdk/client-ecr node_modules/@aws-sdk/client-service-quotas node_modules/@aws-sdk/client-cloudwatch-logs node_modules/@aws-sdk/client-iam \
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
COPY --from=native /src/dist ./dist
WORKDIR /work
USER mixup
# As the job's user: the entry loads every module `mixup run` imports statically, the wasm backend
# initialises, and the native convolution loads (its baseline form runs on any x86-64, emulated or not).
RUN cd /app && node dist/job/cli.js --version >/dev/null \
 && node -e "const tf = require('@tensorflow/tfjs'); require('@tensorflow/tfjs-backend-wasm'); tf.setBackend('wasm').then((ok) => { if (!ok) process.exit(1); })" \
 && node --input-type=module -e "import('/app/dist/job/backend/native-conv.js').then((m) => { m.loadNativeConv('baseline'); })"
ENTRYPOINT ["node", "/app/dist/job/cli.js"]
CMD ["run"]

# ---- tensorflow-gpu: TensorFlow 2.9.1's GPU binding and the CUDA 11 / cuDNN 8 libraries, from PyPI ---
FROM build AS tensorflow-gpu
# pip's index: PyPI, or a mirror of it.
ARG PIP_INDEX_URL=https://pypi.org/simple
ENV PIP_INDEX_URL=${PIP_INDEX_URL} \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends g++ binutils python3-pip >/dev/null \
 && rm -rf /var/lib/apt/lists/*
ENV MIXUP_WHEEL_CACHE=/wheels
# The wheels (2.1 GB) first, then the CUDA libraries, each in a layer only its own inputs decide: a
# rebuild after a change to the binding's scripts or the job reuses both.
COPY tensorflow/wheels.sh tensorflow/requirements-gpu.txt tensorflow/requirements-cuda.txt ./tensorflow/
RUN bash tensorflow/wheels.sh tensorflow/requirements-gpu.txt tensorflow/requirements-cuda.txt
COPY tensorflow/cuda-libs.sh ./tensorflow/
RUN bash tensorflow/cuda-libs.sh /opt/nvidia-cu11/lib
COPY tensorflow ./tensorflow
# The binding (npm run build:tensorflow -- gpu). Its check loads libtensorflow (TensorFlow's CPU
# kernels, no GPU here), except where the build runs emulated (an amd64 image built on Apple Silicon:
# no AVX reported): there it checks the files and symbols instead, and the real load is the job's start.
RUN bash tensorflow/build.sh gpu

# ---- runtime: the GPU image = the CPU image + the GPU binding + the CUDA libraries ------------------
FROM cpu AS runtime
USER root
COPY --from=tensorflow-gpu /opt/nvidia-cu11 /opt/nvidia-cu11
COPY --from=tensorflow-gpu /src/tensorflow/gpu/node_modules /app/tensorflow/gpu/node_modules
# TensorFlow opens the CUDA libraries by soname (libcudart.so.11.0, libcudnn.so.8, …): the loader's
# cache finds them. /usr/local/nvidia/lib* is where older NVIDIA runtimes mount the driver; newer ones
# put it in the system library folders and run ldconfig. NVIDIA_* tell the NVIDIA container runtime
# to mount the driver (compute for CUDA, utility for nvidia-smi); NVIDIA_REQUIRE_CUDA asks only for a
# CUDA 11 driver (≥ 450.80.02), which CUDA 11's minor-version compatibility needs for the 11.7
# libraries; CUDA_VERSION is recorded in metrics.json's device.
RUN echo /opt/nvidia-cu11/lib > /etc/ld.so.conf.d/nvidia-cu11.conf && ldconfig
# TF_CPP_MIN_LOG_LEVEL=0 keeps TensorFlow's "Created device /GPU:0 … compute capability" and
# "Could not load dynamic library" lines in the job's log: they are how a CPU fallback is diagnosed.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    NVIDIA_REQUIRE_CUDA="cuda>=11.0" \
    CUDA_VERSION=11.7.99 \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64 \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    TF_CPP_MIN_LOG_LEVEL=0
USER mixup
RUN node /app/dist/job/cli.js --version >/dev/null
