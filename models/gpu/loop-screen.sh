#!/usr/bin/env bash
# A screen of reference-loop render options on the tiny-shapes bundle, on the GPU machine's CPU
# cores (16): renderer/scripts/loop-quality.ts bundled into plain JS, one process per (option set,
# slice of cases), one thread each, all at once; each judged case is one line of screen.log.
# The GPU machine has no Node.js and carries 64 MiB: node, only onnxruntime-node and sharp, and a
# bundle of the graphs the reference loop runs travel in models/.work/screen (about 53 MiB).
#
#   here:    bash models/gpu/loop-screen.sh --prepare        (after npm ci and models/gpu/pack-engine.sh)
#            mv models/tiny-shapes models/.work/tiny-shapes.aside   (tree + carry <= 64 MiB)
#   device:  run(command="bash models/gpu/loop-screen.sh", carry=["models/.work/screen"], timeout_s=560)
#   here:    mv models/.work/tiny-shapes.aside models/tiny-shapes
#
# Environment: SCREEN_SET [wide] SCREEN_SLICE [84] (cases per process) SCREEN_SLICES [2] (processes
# per option set) SCREEN_DEADLINE_S [460] (then every process is stopped and the log collected:
# compare option sets only on the cases all of them finished).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
S=$top/models/.work/screen
if [ "${1:-}" = "--prepare" ]; then
  set -e
  cd "$top"
  npx esbuild renderer/scripts/loop-quality.ts renderer/src/engine/engine-worker.ts --bundle \
    --platform=node --format=esm --target=node20 --outdir="$S/app" --entry-names='[name]' \
    --external:onnxruntime-node --external:sharp --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
  # the reference loop runs decoder, text, encoder (init noise) and step-reference only
  rm -rf "$S/tiny-ref" && mkdir -p "$S/tiny-ref"
  cp models/tiny-shapes/{decoder,text,encoder,step-reference}.onnx models/tiny-shapes/vocab.json "$S/tiny-ref/"
  node -e '
    const fs = require("node:fs");
    const m = JSON.parse(fs.readFileSync("models/tiny-shapes/manifest.json", "utf8"));
    m.name = "tiny-ref";
    m.graphs.step = m.graphs.stepReference;  // the classic step is never run here
    delete m.graphs.image; delete m.graphs.imageReference;
    fs.writeFileSync(process.argv[1], JSON.stringify(m, null, 2));' "$S/tiny-ref/manifest.json"
  [ -f .gpu/node.xz ] || { echo "loop-screen: run models/gpu/pack-engine.sh first" >&2; exit 1; }
  cp .gpu/node.xz "$S/"
  stage=$(mktemp -d) && trap 'rm -rf "$stage"' EXIT
  tar -C "$stage" -xJf .gpu/node_modules.tar.xz
  tar -C "$stage/node_modules" -cJf "$S/nm.tar.xz" onnxruntime-node onnxruntime-common sharp @img detect-libc semver
  du -sh "$S"
  exit 0
fi

OUT=$(realpath -m -- "${OUT:-$S/out}")
mkdir -p "$OUT"
run=$(mktemp -d)
xz -dc "$S/node.xz" > "$run/node" && chmod +x "$run/node"
mkdir -p "$run/node_modules" && tar -C "$run/node_modules" -xJf "$S/nm.tar.xz"
cp -r "$S/app" "$run/app"
mkdir -p "$run/models" && cp -r "$S/tiny-ref" "$run/models/"
set_=${SCREEN_SET:-wide}
slice=${SCREEN_SLICE:-84}
slices=${SCREEN_SLICES:-2}
deadline=${SCREEN_DEADLINE_S:-460}
# option sets, fixed before any of them was scored (issue #15 item 6, session 11)
OPTS=(
  'A {"loop":"reference"}'
  'B {"loop":"reference","cutn":12}'
  'C {"loop":"reference","steps":300}'
  'D {"loop":"reference","lr":0.4}'
  'E {"loop":"reference","lr":0.15}'
  'F {"loop":"reference","cutNoise":0.2}'
  'G {"loop":"reference","cutn":16,"steps":150}'
  'H {"loop":"reference","initNoise":"gradient"}'
)
echo "loop-screen: $(nproc) cores, ${#OPTS[@]} option sets x $slices slices of $slice cases ($set_), deadline ${deadline}s" | tee "$OUT/screen.log"
cd "$run"
for o in "${OPTS[@]}"; do
  name=${o%% *} json=${o#* }
  for ((h = 0; h < slices; h++)); do
    ( ./node app/loop-quality.js --models-dir models --model tiny-ref --set "$set_" --from $((h * slice)) \
        --cases "$slice" --threads 1 --options "$json" --verbose 2>&1 | sed -u "s/^/$name /" > "$run/$name.$h.log" ) &
  done
done
end=$((SECONDS + deadline))
while [ $SECONDS -lt $end ] && [ -n "$(jobs -rp)" ]; do sleep 5; done
pkill -f 'app/loop-quality.js' 2>/dev/null
sleep 1
cat "$run"/*.log >> "$OUT/screen.log"
echo "loop-screen: stopped after ${SECONDS}s" >> "$OUT/screen.log"
grep -c ' -> ' "$OUT/screen.log" || true
# The rule for issue #15 item 6 (session 11), written before any option set was scored: on the
# cases every set finished, the pick has the most colour+background right, loses at most 2 shape-
# right cases against A, ties going to all-three; it becomes the bundle's reference default only
# if it beats A's colour count by at least 3 cases. The `unseen` set is then run once, for the report.
