#!/bin/bash
# Regenerate the bundled tiny-shapes model from scratch (CPU, about an hour on 2 cores):
# train the FSQ-VQGAN and the CLIP (in parallel, one thread each), the adversarial CLIP rounds,
# then export to models/tiny-shapes/. Logs and checkpoints: models/.work/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
ENV=../../shared/tools/pytorch-env
[ -x "$ENV" ] || ENV=${PYTORCH_ENV:-pytorch-env}
mkdir -p .work
"$ENV" python -m tessera_models.train_tiny vqgan --threads 1 > .work/vqgan.log 2>&1 &
v=$!
"$ENV" python -m tessera_models.train_tiny clip0 --threads 1 > .work/clip0.log 2>&1 &
c=$!
wait $v
wait $c
"$ENV" python -m tessera_models.train_tiny adv --threads 2 2>&1 | tee .work/adv.log
"$ENV" python -m tessera_models.export_tiny
