#!/usr/bin/env bash
# The GPU check of the real models (REAL_MODELS.md §5), as one command for the device tool:
# export a real-shape random-weight bundle on this machine, then time, in this one command,
# PyTorch eager (bench_real.py) and onnxruntime-node (tessera bench) on the same loop:
# 100 steps at 256x256, cutn 32, one prompt; print both rates and their ratio.
#
# On the GPU machine (prepared here with models/gpu/pack-engine.sh and
# `bash models/gpu/gpu-check.sh --prepare`):
#   run(command="source .gpu/activate && bash models/gpu/gpu-check.sh",
#       carry=[".gpu", "models/.work/gpu-carry"], timeout_s=540)
#
# Environment (defaults in brackets): GPU_CHECK_SIZE [256] GPU_CHECK_CUTN [32] GPU_CHECK_STEPS [100]
# GPU_CHECK_DEVICE [cuda] (PyTorch) GPU_CHECK_EP [webgpu] (onnxruntime-node) GPU_CHECK_VARIANTS
# ["fp16 conv"]: further exports timed while time is left (fp16: --fp16; conv: --conv-grad conv)
# GPU_CHECK_WEBGPU_OPTION_SETS ["validationMode=disabled preferredLayout=NCHW"]: provider options
# (RENDERER_WEBGPU_OPTIONS) to time on the float32 bundle, one run each, before the variants.
# GPU_CHECK_REUSE [0] (1: keep bundles a previous run on this machine exported) GPU_CHECK_WARMUP [5] (PyTorch warm-up steps) GPU_CHECK_BUDGET_S [330]: no new variant starts after this many seconds. OUT: where the summary
# and logs go (the device tool's folder that comes back; default models/.work/gpu-out).
#
# If the export fails here (another torch), the graphs exported on the dev machine travel in
# models/.work/gpu-carry/fallback with weight moments instead of weights.bin (weight_stats.py), and
# the engine is timed on those: speed does not depend on the values. The summary says which.
set -uo pipefail
called_from=$PWD
models=$(cd "$(dirname "$0")/.." && pwd -P)
repo=$(dirname "$models")
cd "$models"
carry=.work/gpu-carry
work=.work/gpu
OUT=${OUT:-$models/.work/gpu-out}
mkdir -p "$OUT" "$work"
size=${GPU_CHECK_SIZE:-256}
cutn=${GPU_CHECK_CUTN:-32}
steps=${GPU_CHECK_STEPS:-100}
device=${GPU_CHECK_DEVICE:-cuda}
ep=${GPU_CHECK_EP:-webgpu}
variants=${GPU_CHECK_VARIANTS-fp16 conv}
option_sets=${GPU_CHECK_WEBGPU_OPTION_SETS-validationMode=disabled preferredLayout=NCHW}
budget=${GPU_CHECK_BUDGET_S:-330}
warmup=${GPU_CHECK_WARMUP:-5}
vocab=$carry/vocab/bpe_simple_vocab_16e6.txt.gz

if [ -n "${TESSERA_PYTHON:-}" ]; then
  read -r -a py <<<"$TESSERA_PYTHON"
elif python3 -c 'import torch, onnx' 2>/dev/null; then
  py=(python3)
else
  py=("$repo/../shared/tools/pytorch-env" python)  # the dev machine's chroot (sees ../ only)
fi

log() { echo "gpu-check [$((SECONDS))s] $*" | tee -a "$OUT/gpu-check.log" >&2; }

if [ "${1:-}" = "--prepare" ]; then
  # On the dev machine: what the device needs besides .gpu (vocabulary, fallback graphs).
  set -e
  src=${2:?usage: gpu-check.sh --prepare BUNDLE_DIR (a real-shape bundle exported here)}
  src=$(cd "$called_from" && realpath -- "$src")
  rm -rf "$carry" && mkdir -p "$carry/vocab" "$carry/fallback"
  cp "${VOCAB:-$repo/../shared/data/clip/bpe_simple_vocab_16e6.txt.gz}" "$carry/vocab/"
  cp "$src"/*.onnx "$src/manifest.json" "$carry/fallback/"
  PYTHONPATH=. "${py[@]}" -m tessera_models.weight_stats index "$src" "$carry/fallback/weights-index.json"
  du -sh "$carry"
  exit 0
fi

[ -f "$vocab" ] || { log "missing $vocab (run models/gpu/gpu-check.sh --prepare BUNDLE on the dev machine and carry $carry)"; exit 2; }
log "host: $(nproc) cores; GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo none)"
log "python: $("${py[@]}" -c 'import torch, onnx; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "onnx", onnx.__version__)' 2>&1 | tail -1)"
log "node: $(node --version)"

# 0. does onnxruntime-node's WebGPU provider get an adapter? The 2026-12-04 run got none: the
# Vulkan loader took the NVIDIA ICD (libGLX_nvidia.so.0) but vkCreateInstance came back NULL,
# which is what the GLX ICD does with no X server (NVIDIA's docs: headless Vulkan goes through
# libEGL_nvidia.so.0), and what the driver does without its device nodes. Try the ICD as
# mounted, then the EGL library, then the GLX library by path; keep the first that works.
webgpu_probe() {  # ICD-JSON: exit 0 when a WebGPU session opens on a one-node graph
  VK_DRIVER_FILES=$1 VK_LOADER_DEBUG=error,warn timeout 90 node -e '
    const ort = require("onnxruntime-node");
    ort.InferenceSession.create(process.argv[1], { executionProviders: ["webgpu"] })
      .then(async (s) => { const t = new ort.Tensor("float32", Float32Array.from([1, 2]), [2]);
        const o = await s.run({ x: t }); console.log("webgpu ok:", Array.from(o.y.data).join(","), "(want 2,4)"); })
      .catch((e) => { console.log("webgpu failed:", String(e.message).split("\n")[0]); process.exit(1); });' "$work/probe.onnx"
}
if [ "$ep" = webgpu ]; then
  { ls -l /dev/nvidia* /dev/dri 2>&1; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"; cat "${VK_DRIVER_FILES:-/dev/null}" 2>&1;
    ls /usr/local/nvidia/lib64 2>/dev/null | grep -Ei 'egl|glx|vulkan|glcore|spirv' | tr '\n' ' '; echo; } >"$OUT/vulkan.log" 2>&1
  "${py[@]}" -c 'import onnx, sys; from onnx import helper as h, TensorProto as T
x = h.make_tensor_value_info("x", T.FLOAT, [2]); y = h.make_tensor_value_info("y", T.FLOAT, [2])
g = h.make_graph([h.make_node("Add", ["x", "x"], ["y"])], "probe", [x], [y])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), sys.argv[1])' "$work/probe.onnx"
  nvlib=$(dirname "$(ls /usr/local/nvidia/lib64/libEGL_nvidia.so.0 /usr/lib/x86_64-linux-gnu/libEGL_nvidia.so.0 2>/dev/null | head -1)" 2>/dev/null)
  icds=("${VK_DRIVER_FILES:-/usr/share/vulkan/icd.d/nvidia_icd.json}")
  for lib in libEGL_nvidia.so.0 libGLX_nvidia.so.0; do
    [ -n "$nvlib" ] && [ -e "$nvlib/$lib" ] || continue
    printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$nvlib/$lib" >"$work/icd-${lib%%.*}.json"
    icds+=("$PWD/$work/icd-${lib%%.*}.json")
  done
  adapter=
  for attempt in plain modeset; do
    if [ $attempt = modeset ]; then  # Vulkan on NVIDIA opens /dev/nvidia-modeset; compute alone does not
      { [ -e /dev/nvidia-modeset ] || [ ! -e /dev/nvidiactl ]; } && break
      mknod -m 666 /dev/nvidia-modeset c 195 254 >>"$OUT/vulkan.log" 2>&1 || { log "no /dev/nvidia-modeset and mknod refused"; break; }
      log "made /dev/nvidia-modeset (c 195 254)"
    fi
    for icd in "${icds[@]}"; do
      echo "== $attempt $icd" >>"$OUT/vulkan.log"
      if webgpu_probe "$icd" >>"$OUT/vulkan.log" 2>&1; then adapter=$icd; break 2; fi
    done
  done
  if [ -n "$adapter" ]; then
    export VK_DRIVER_FILES=$adapter
    log "webgpu: adapter with VK_DRIVER_FILES=$adapter ($(grep -o 'library_path[^,]*' "$adapter" | head -1))"
  else
    log "RESULT no WebGPU adapter with any ICD (details in vulkan.log):"; grep -E 'failed|ERROR' "$OUT/vulkan.log" | sort | uniq -c | head -8 | tee -a "$OUT/gpu-check.log"
    [ "${GPU_CHECK_WITHOUT_ADAPTER:-0}" = 1 ] || { log "stopping here (GPU_CHECK_WITHOUT_ADAPTER=1 goes on with PyTorch alone)"; exit 3; }
  fi
fi

# 1. random checkpoints with the public names and shapes
if [ ! -f "$work/ckpt/vqgan/last.ckpt" ]; then
  PYTHONPATH=. "${py[@]}" -m tessera_models.synthetic_checkpoints "$work/ckpt" >"$OUT/ckpt.log" 2>&1 \
    && log "checkpoints written" || { log "synthetic checkpoints failed:"; tail -5 "$OUT/ckpt.log"; }
fi

export_bundle() {  # NAME EXTRA-ARGS...
  local name=$1; shift
  if [ "${GPU_CHECK_REUSE:-0}" = 1 ] && [ -f "$work/$name/manifest.json" ]; then log "reusing $name (GPU_CHECK_REUSE=1)"; return 0; fi
  rm -rf "${work:?}/$name"
  local t0=$SECONDS
  if PYTHONPATH=. "${py[@]}" -m tessera_models.export_real --quiet --vqgan-ckpt "$work/ckpt/vqgan/last.ckpt" \
      --clip "$work/ckpt/clip/ViT-B-32.pt" --vocab "$vocab" --out "$work/$name" --name "$name" "$@" >"$OUT/export-$name.log" 2>&1; then
    log "exported $name in $((SECONDS - t0)) s ($(du -sh "$work/$name" | cut -f1))"
  else
    log "export of $name failed after $((SECONDS - t0)) s:"; tail -8 "$OUT/export-$name.log" | tee -a "$OUT/gpu-check.log"
    return 1
  fi
}

# 2. the bundle, exported here; else the travelled graphs with stand-in weights
source_kind=exported-here
if ! export_bundle real; then
  if [ -f "$carry/fallback/weights-index.json" ]; then
    rm -rf "$work/real" && mkdir -p "$work/real"
    cp "$carry"/fallback/*.onnx "$carry/fallback/manifest.json" "$vocab" "$work/real/"
    PYTHONPATH=. "${py[@]}" -m tessera_models.weight_stats fill "$work/real" "$carry/fallback/weights-index.json" | tee -a "$OUT/gpu-check.log"
    source_kind=travelled-graphs-stand-in-weights
  else
    log "no bundle to time"; exit 1
  fi
fi

# 3. PyTorch eager, same loop, same checkpoints
ckargs=()
[ -f "$work/ckpt/vqgan/last.ckpt" ] && ckargs=(--vqgan-ckpt "$work/ckpt/vqgan/last.ckpt" --clip "$work/ckpt/clip/ViT-B-32.pt")
PYTHONPATH=. "${py[@]}" -m tessera_models.bench_real --device "$device" --size "$size" "$size" --cutn "$cutn" \
  --steps "$steps" --warmup "$warmup" "${ckargs[@]}" >"$OUT/torch.log" 2>&1
torch_json=$(grep '^{' "$OUT/torch.log" | head -1)
log "torch: ${torch_json:-failed: $(tail -3 "$OUT/torch.log")}"

# 4. onnxruntime-node, the engine's own loop (Adam and clamp on the host, one frame at the end)
bench_engine() {  # BUNDLE-NAME [WEBGPU-OPTIONS]
  local t0=$SECONDS label=$1${2:+-$2}
  (cd "$repo" && RENDERER_WEBGPU_OPTIONS=${2:-} node deploy/cli/tessera.mjs bench --model "$1" --models-dir "models/$work" --ep "$ep" \
     --size "${size}x${size}" --cutn "$cutn" --steps "$steps" --frame-every "$steps" --renders 1 \
     --prompt "a lighthouse in a storm" --no-torch --json) >"$OUT/engine-${label//[^A-Za-z0-9=-]/_}.log" 2>&1
  local j; j=$(grep '^{' "$OUT/engine-${label//[^A-Za-z0-9=-]/_}.log" | tail -1)
  log "engine $label ($((SECONDS - t0)) s in all): ${j:-failed: $(tail -3 "$OUT/engine-${label//[^A-Za-z0-9=-]/_}.log")}"
  echo "$j"
}
engine_json=$(bench_engine real | tail -1)

ratio() {  # ENGINE-JSON TORCH-JSON
  node -e 'const [e, t] = process.argv.slice(1).map((s) => { try { return JSON.parse(s); } catch { return undefined; } });
    console.log(e && t ? (e.it_per_s / t.it_per_s).toFixed(3) : "n/a");' "$1" "$2"
}
log "RESULT $source_kind: engine/torch = $(ratio "$engine_json" "$torch_json") (target >= 0.5)"

# 5. provider options, then variants, while time is left
results="{\"bundle\":\"$source_kind\",\"torch\":${torch_json:-null},\"engine\":${engine_json:-null}"
if [ "$ep" = webgpu ]; then
  for opts in $option_sets; do
    if [ "$SECONDS" -ge "$budget" ]; then log "skipping options $opts: ${SECONDS}s used (budget ${budget}s)"; continue; fi
    j=$(bench_engine real "$opts" | tail -1)
    log "RESULT options $opts: engine/torch = $(ratio "$j" "$torch_json")"
    results="$results,\"$opts\":${j:-null}"
  done
fi
[ "$source_kind" = exported-here ] || { [ -z "$variants" ] || log "skipping variants $variants: the export does not work here"; variants=; }
for v in $variants; do
  if [ "$SECONDS" -ge "$budget" ]; then log "skipping variant $v: ${SECONDS}s used (budget ${budget}s)"; continue; fi
  case $v in
    conv) args=(--conv-grad conv) ;;
    fp16) args=(--fp16) ;;
    *) log "unknown variant $v"; continue ;;
  esac
  if export_bundle "real-$v" "${args[@]}"; then
    j=$(bench_engine "real-$v" | tail -1)
    log "RESULT variant $v: engine/torch = $(ratio "$j" "$torch_json")"
    results="$results,\"$v\":${j:-null}"
  fi
done
echo "$results}" >"$OUT/gpu-check.json"
log "summary in $OUT/gpu-check.json"
