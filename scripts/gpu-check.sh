#!/usr/bin/env bash
# The checks that need a GPU, as one script for a machine that has one for minutes: a pip torch
# with CUDA, cmake, ninja and g++, and no Debian header packages (carry them: run
# scripts/carry-headers.sh here first, then send third_party_headers/ and data/nietzsche.txt with
# the tree). It builds charnn against that torch, then:
#   1. the [cuda] tests (forward and an Adam step against PyTorch on the device, runs resumed
#      across devices);
#   2. char-rnn and the LSTM trained on the GPU and on the CPU from the same seed: the epoch rows
#      side by side (cuBLAS and cuDNN round otherwise than the CPU's kernels: close, not equal);
#   3. CharRnn's training step on the GPU: C++ (charnn_bench, eager) against PyTorch eager and
#      PyTorch's CUDA graph (notebooks-ref/cuda_graph_step.py), on the same GPU in one run.
# Everything it prints goes to OUT (default: gpu-check/), and a summary to stdout.
#   scripts/gpu-check.sh [OUT]       CHARNN_PYTHON: the python with CUDA torch (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check}
python=${CHARNN_PYTHON:-python3}
headers=${CHARNN_CARRIED_HEADERS:-$PWD/third_party_headers}
mkdir -p "$out"
"$python" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print("torch", torch.__version__, torch.cuda.get_device_name())' | tee "$out/device.txt"
[ -d "$headers" ] || { echo "gpu-check: $headers missing (scripts/carry-headers.sh on a Debian machine)" >&2; exit 1; }
[ -f data/nietzsche.txt ] || { echo "gpu-check: data/nietzsche.txt missing (carry it)" >&2; exit 1; }

prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
CHARNN_PYTHON=$python cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCHARNN_CARRIED_HEADERS="$headers" >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
ninja -C build-gpu >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
echo "== built: $(build-gpu/app/charnn --version)"

echo "== 1. the [cuda] tests"
ctest --test-dir build-gpu -R 'cuda|device:' --output-on-failure >"$out/cuda-tests.log" 2>&1 || true
grep -E 'tests passed|Passed|Failed|Skipped' "$out/cuda-tests.log" | tail -12

echo "== 2. the same runs on the GPU and on the CPU"
for model in char-rnn char-seq-stateful-lstm; do
  for device in cuda cpu; do
    build-gpu/app/charnn train --no-progress --model "$model" --max-chars 200000 --fit 2@1e-3 --seed 0 \
      --device "$device" --out "$out/$model-$device" --force >"$out/$model-$device.log" 2>&1
  done
  echo "$model (epoch, trn, val): GPU | CPU"
  paste -d'|' <(cut -d, -f3,5,6 "$out/$model-cuda/epochs.csv") <(cut -d, -f3,5,6 "$out/$model-cpu/epochs.csv")
done

echo "== 3. CharRnn's training step on the GPU, ms (median)"
printf 'info\nstep char-rnn+plain 20 200\nquit\n' |
  CHARNN_BENCH_DEVICE=cuda build-gpu/bench/charnn_bench --text data/nietzsche.txt >"$out/bench-cpp.jsonl"
"$python" notebooks-ref/cuda_graph_step.py --model char-rnn >"$out/bench-python.jsonl"
"$python" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
cpp = [json.loads(l) for l in open(f"{out}/bench-cpp.jsonl")]
step = sorted(cpp[1]["step_ms"])[len(cpp[1]["step_ms"]) // 2]
py = json.loads(open(f"{out}/bench-python.jsonl").read())
print(f"C++ eager {step:.3f}  PyTorch eager {py['eager_ms']:.3f}  PyTorch CUDA graph {py['graph_ms']:.3f}  ({py['device']})")
PY
