#!/usr/bin/env bash
# Build the tessera image with docker or podman (whichever is installed; ENGINE=… to choose).
#
#   deploy/scripts/build-image.sh                          # BASE=node:20-bookworm-slim, tag tessera:latest
#   BASE=localhost/debian:trixie-slim deploy/scripts/build-image.sh   # offline: see debian-base.sh
#   ORT_CUDA=cuda12 TAG=tessera:cuda deploy/scripts/build-image.sh    # + onnxruntime's CUDA provider (untested here)
#   EXTRA_CA=/path/ca.pem deploy/scripts/build-image.sh   # npm behind a TLS proxy (default: $NODE_EXTRA_CA_CERTS)
#
# With podman on these machines the build runs with runc and lowered rlimits (crun fails on
# hybrid cgroups; raising rlimits is refused) and the host network.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKERFILE="$ROOT/deploy/docker/Dockerfile"
IGNOREFILE="$ROOT/deploy/docker/Dockerfile.dockerignore"
TAG="${TAG:-tessera:latest}"
BASE="${BASE:-}"
ORT_CUDA="${ORT_CUDA:-skip}"
ENGINE="${ENGINE:-$(command -v podman || command -v docker || true)}"

if [[ -z "$ENGINE" ]]; then
  echo "build-image: install docker or podman (or set ENGINE)" >&2
  exit 1
fi

global=()
args=(build -f "$DOCKERFILE" -t "$TAG" --build-arg "ORT_CUDA=$ORT_CUDA")
if [[ -n "$BASE" ]]; then args+=(--build-arg "BASE=$BASE"); fi
# A CA bundle for npm behind a TLS-intercepting proxy (a build secret, not a layer).
EXTRA_CA="${EXTRA_CA:-${NODE_EXTRA_CA_CERTS:-}}"
if [[ -n "$EXTRA_CA" && -s "$EXTRA_CA" ]]; then args+=(--secret "id=extra_ca,src=$EXTRA_CA"); fi

case "$(basename "$ENGINE")" in
  podman)
    args+=(--ignorefile "$IGNOREFILE" --network host
      --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
    # A global flag: `podman build --runtime` is not used for RUN steps.
    if [[ -x /usr/sbin/runc ]]; then global+=(--runtime /usr/sbin/runc); fi
    # A local base (localhost/…) must not be pulled.
    if [[ "$BASE" == localhost/* ]]; then args+=(--pull=never); fi
    ;;
  *)
    # docker BuildKit picks up deploy/docker/Dockerfile.dockerignore next to the Dockerfile.
    export DOCKER_BUILDKIT=1
    ;;
esac

echo "build-image: $ENGINE ${global[*]} ${args[*]} $ROOT" >&2
"$ENGINE" "${global[@]}" "${args[@]}" "$ROOT"
"$ENGINE" image inspect "$TAG" --format '{{.Size}}' | awk -v tag="$TAG" '{ printf "build-image: %s is %.0f MB\n", tag, $1 / 1e6 }'
