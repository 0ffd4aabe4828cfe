#!/usr/bin/env bash
# Raw embedding-model throughput by batch size on a CUDA machine, fp32 and fp16, as one table
# (io.lookalike.model.ModelBench through DJL's PyTorch engine). Needs only this repository, JDK 17
# and a Maven repository it can reach (or a warm ~/.m2 with --offline). Takes < 5 minutes.
#
#   deploy/gpu/bench-gpu.sh [--cpu] [--batches 1,2,4,...] [--seconds 3] [--offline]
#
# CUDA natives: Maven Central holds no ai.djl.pytorch:pytorch-native-cu12x for PyTorch 2.7.1 (the
# version DJL 0.35.1 loads; cu121/cu124/cu126/cu128 poms all absent, checked 2026-12-02), but the
# pytorch-jni jar already carries the cu128 JNI library. So the script points DJL at a libtorch
# 2.7.1+cu128 on the machine (PYTORCH_LIBRARY_PATH, PYTORCH_VERSION=2.7.1, PYTORCH_FLAVOR=cu128),
# found, in order: $PYTORCH_LIBRARY_PATH; a Python torch 2.7.1+cu128 (pip wheel: torch/lib);
# $DJL_CACHE_DIR or ~/.djl.ai/pytorch/2.7.1-cu128-linux-x86_64 (filled by one DJL run with network and
# PYTORCH_FLAVOR=cu128). Without a GPU or without those libraries it says so and runs the CPU path.
set -euo pipefail
cd "$(dirname "$0")/../.."

batches=1,2,4,8,16,32,64,128,256
seconds=3
cpu=0
offline=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu) cpu=1 ;;
    --batches) batches="$2"; shift ;;
    --seconds) seconds="$2"; shift ;;
    --offline) offline=(-o) ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

torch_lib() {
  if [[ -n "${PYTORCH_LIBRARY_PATH:-}" && -e "$PYTORCH_LIBRARY_PATH/libtorch.so" ]]; then
    echo "$PYTORCH_LIBRARY_PATH"; return
  fi
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1; then
      dir=$("$py" - 2>/dev/null <<'PY' || true
import os, torch
if torch.__version__.startswith("2.7.1") and (torch.version.cuda or "").startswith("12.8"):
    print(os.path.join(os.path.dirname(torch.__file__), "lib"))
PY
)
      if [[ -n "$dir" ]]; then echo "$dir"; return; fi
    fi
  done
  for dir in "${DJL_CACHE_DIR:-$HOME/.djl.ai}/pytorch/2.7.1-cu128-linux-x86_64"; do
    if [[ -e "$dir/libtorch.so" ]]; then echo "$dir"; return; fi
  done
}

if [[ $cpu -eq 0 ]]; then
  if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "No NVIDIA GPU here (nvidia-smi finds none): running the CPU path instead." >&2
    cpu=1
  else
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    lib=$(torch_lib)
    if [[ -z "$lib" ]]; then
      echo "A GPU, but no libtorch 2.7.1+cu128 found (see the top of $0: pip install" \
        "torch==2.7.1 --index-url https://download.pytorch.org/whl/cu128, or set" \
        "PYTORCH_LIBRARY_PATH): running the CPU path instead." >&2
      cpu=1
    else
      echo "libtorch: $lib"
      export PYTORCH_LIBRARY_PATH="$lib" PYTORCH_VERSION=2.7.1 PYTORCH_FLAVOR=cu128
    fi
  fi
fi

out=target/gpu-bench
mkdir -p "$out"
models=("")
labels=("fp32")
# fp16: the bundled model wrapped to run in half precision (needs a Python torch to write it).
src=models/mobilenet_v2_features/mobilenet_v2_features.pt
if [[ $cpu -eq 0 ]]; then
  for py in python3 /usr/bin/python3; do
    if "$py" deploy/gpu/half.py "$src" "$PWD/$out/mobilenet_v2_features_fp16.pt" >/dev/null 2>&1; then
      models+=("$PWD/$out/mobilenet_v2_features_fp16.pt"); labels+=("fp16")
      break
    fi
  done
  [[ ${#models[@]} -gt 1 ]] || echo "No Python torch to write the fp16 model: fp32 only." >&2
else
  echo "CPU path: fp32 only (PyTorch's CPU kernels gain nothing from fp16)." >&2
fi

# Build and resolve the test classpath in one reactor run (sibling modules come from their target/
# folders, so nothing needs installing), then run the bench main with plain java.
./mvnw -B -q "${offline[@]}" -pl model -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test -Dspotless.check.skip=true
shared="$PWD/../shared"; [[ -d shared/datasets ]] && shared="$PWD/shared"
cp="model/target/test-classes:model/target/classes:$(cat model/target/cp.txt)"
for i in "${!models[@]}"; do
  # Only the table and its heading go to the screen (and to $out/table-<label>.md); the logs go
  # to $out/bench-<label>.log.
  timeout 240 java -Xmx4g -Dai.djl.offline=true -DDJL_CACHE_DIR="$PWD/target/djl-cache" \
    -Dlookalike.shared.dir="$shared" \
    -Dbench.batches="$batches" -Dbench.seconds="$seconds" -Dbench.model="${models[$i]}" \
    -Dbench.label="${labels[$i]}" -cp "$cp" io.lookalike.model.ModelBench \
    >"$out/bench-${labels[$i]}.log" 2>&1 \
    || { echo "the ${labels[$i]} run failed; see $out/bench-${labels[$i]}.log" >&2; tail -20 "$out/bench-${labels[$i]}.log" >&2; exit 1; }
  grep -E '^(\||PyTorch )' "$out/bench-${labels[$i]}.log" >"$out/table-${labels[$i]}.md"
  if [[ $i -eq 0 ]]; then cat "$out/table-${labels[$i]}.md"; else grep -E '^\| [^-m]' "$out/table-${labels[$i]}.md"; fi
done
