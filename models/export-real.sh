#!/usr/bin/env bash
# Export the public taming-transformers VQGAN + OpenAI CLIP checkpoints as a tessera bundle.
#
#   models/export-real.sh --vqgan-ckpt last.ckpt --vqgan-config model.yaml \
#       --clip ViT-B-32.pt --vocab bpe_simple_vocab_16e6.txt.gz --out models/vqgan-imagenet-f16-16384
#
# Uses python3 when it has torch >= 2.6 and onnx (+ pyyaml for --vqgan-config; or $TESSERA_PYTHON), else the
# project's PyTorch chroot ($PYTORCH_ENV, default ../shared/tools/pytorch-env). The chroot only
# sees the folder above the repository, so there every file must live below that folder.
# Options: python3 -m tessera_models.export_real --help. Details: models/REAL_MODELS.md.
set -euo pipefail
models=$(cd "$(dirname "$0")" && pwd -P)
repo=$(dirname "$models")

# absolute paths, so that they survive the change of directory below
args=()
expect_path=0
for a in "$@"; do
  if [ "$expect_path" = 1 ]; then a=$(realpath -m -- "$a"); expect_path=0; fi
  case "$a" in
    --vqgan-ckpt|--vqgan-config|--clip|--vocab|--out|--work-dir) expect_path=1 ;;
    --vqgan-ckpt=*|--vqgan-config=*|--clip=*|--vocab=*|--out=*|--work-dir=*)
      a="${a%%=*}=$(realpath -m -- "${a#*=}")" ;;
  esac
  args+=("$a")
done

has_torch() {
  "$1" - <<'PY' 2>/dev/null
import sys, torch, onnx
v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
sys.exit(0 if v >= (2, 6) else 1)
PY
}

py=${TESSERA_PYTHON:-}
if [ -z "$py" ] && command -v python3 >/dev/null && has_torch python3; then py=python3; fi
if [ -n "$py" ]; then
  cd "$models"
  exec nice -n 10 "$py" -m tessera_models.export_real "${args[@]}"
fi

env=${PYTORCH_ENV:-$repo/../shared/tools/pytorch-env}
if [ ! -x "$env" ]; then
  echo "export-real.sh: needs python3 with torch>=2.6 and onnx (or TESSERA_PYTHON=...," \
       "or PYTORCH_ENV=path/to/pytorch-env)" >&2
  exit 2
fi
base=$(dirname "$repo")
for a in "${args[@]}"; do
  case "$a" in
    /*) case "$a/" in "$base"/*) ;; *)
          echo "export-real.sh: $a is outside $base, which is all the PyTorch chroot can see;" \
               "move it below $base (e.g. $repo/models/.work/)" >&2
          exit 2 ;;
        esac ;;
  esac
done
cd "$base"
exec "$env" run nice -n 10 env PYTHONPATH="$models" python3 -m tessera_models.export_real "${args[@]}"
