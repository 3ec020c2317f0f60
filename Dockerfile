# The image the Kubernetes Job (deploy/k8s/study-job.yaml) and any other container engine run: the esmm command
# line, built from this checkout. README, "Studies on many machines".
#
#   docker build -t esmm-lab .                       # wasm backend (tfjs's WebAssembly build, no native code)
#   docker build -t esmm-lab --build-arg NATIVE=1 .  # also the native TensorFlow backend (scripts/install-native.sh)
#   docker run --rm -v "$PWD/runs:/app/runs" esmm-lab study --profile quick --shard 1/2
#
# Studies' run keys hash the golden-output fixtures (lib/study/numerics.ts), copied below, so containers built
# from the same checkout write the same keys as the checkout itself, and their shards merge with it.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the "prepare" script (the build) runs below, once the sources are in; no dependency the
# command line uses needs an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY lib lib
RUN node node_modules/typescript/bin/tsc -p tsconfig.json

FROM node:20-bookworm-slim
ARG NATIVE=0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin bin
COPY scripts/install-native.sh scripts/install-native.sh
COPY --from=build /app/build build
COPY test/fixtures/paper-models-compat.json test/fixtures/speed-reference.json test/fixtures/stopping-reference.json test/fixtures/data-reference.json test/fixtures/
# Optional native backend: the binding is built from source against the tensorflow-cpu wheel's libraries
# (needs python3 with pip, a compiler and network access while building). Without it: the wasm backend.
RUN if [ "$NATIVE" = 1 ]; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-pip g++ make ca-certificates \
      && bash scripts/install-native.sh --strict \
      && rm -rf native/.cache /var/lib/apt/lists/*; \
    fi
ENTRYPOINT ["node", "bin/esmm.js"]
CMD ["--help"]
